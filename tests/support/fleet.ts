// A generated fleet of staging entries, for the tests and the bench: consecutive accounts, each in
// three Regions in turn, and the same as a project folder to plan.
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";

export const fleetRegions = ["us-east-1", "us-west-2", "eu-west-1"];

/** `count` staging entries: accounts from 200000000000 up, each in the three Regions (entry i is account i / 3). */
export function fleetEntries<T extends object>(count: number, extra?: T): ({ accountId: string; region: string } & T)[] {
    return Array.from({ length: count }, (_, i) => ({
        accountId: String(200000000000 + Math.floor(i / 3)),
        region: fleetRegions[i % 3],
        ...(extra as T),
    }));
}

/** A project folder (this project's Pulumi.yaml) with a deploy: all stack `Pulumi.fleet.yaml` of `count` entries, each with a replication template. */
export function fleetProject(count: number, config: Record<string, unknown> = {}): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drs-fleet-"));
    fs.copyFileSync(path.join(__dirname, "..", "..", "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    const stack = {
        "pulumi:disable-default-providers": ["*"],
        // One target unless the config lists several.
        ...(config.targets
            ? {}
            : { "drs-cross-account-kms:target": { accountId: "111122223333", keyUserRoleNames: ["DrsRecoveryOperator"] } }),
        "drs-cross-account-kms:stagingAccounts": fleetEntries(count, { replication: { stagingAreaSubnetId: "subnet-0123456789abcdef0" } }),
        ...Object.fromEntries(Object.entries(config).map(([key, value]) => [`drs-cross-account-kms:${key}`, value])),
    };
    fs.writeFileSync(path.join(dir, "Pulumi.fleet.yaml"), yaml.dump({ config: stack }));
    return dir;
}
