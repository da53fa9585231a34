// The documented path from nothing to a drilled fleet (docs/protect-every-server.md), run as a
// user runs it: each command through the command line, each `pulumi up` as a run of the program
// under Pulumi mocks, against one pair of mocked accounts that keeps its state from step to step.
import { CreateExtendedSourceServerCommand } from "@aws-sdk/client-drs";
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { run } from "../../cli";
import { runProgram } from "../support/mocks";
import { keyUserRole, onboardingWorld, region, staging, target } from "../support/onboardingWorld";
import { fakeClock } from "../support/alignWorld";

const root = path.join(__dirname, "..", "..");
const stagingStack = "organization/drs-cross-account-kms/staging";
const stagingConfig = {
    deploy: "staging",
    target: { accountId: target },
    stagingAccounts: [{ accountId: staging, region, replication: { stagingAreaSubnetId: "subnet-0123456789abcdef0" } }],
};
const launchSettings = { region, launchDisposition: "STOPPED", copyTags: false };
const targetConfig = {
    deploy: "target",
    target: { accountId: target, regions: [region], keyUserRoleNames: [keyUserRole], launch: [launchSettings] },
    stagingStacks: [stagingStack],
};

/** A project folder with the two stack files, as a user has it. */
function project(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drs-onboarding-"));
    fs.copyFileSync(path.join(root, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    const stackFile = (config: Record<string, unknown>) =>
        yaml.dump({
            config: {
                "pulumi:disable-default-providers": ["*"],
                ...Object.fromEntries(Object.entries(config).map(([k, v]) => [`drs-cross-account-kms:${k}`, v])),
            },
        });
    fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), stackFile(stagingConfig));
    fs.writeFileSync(path.join(dir, "Pulumi.target.yaml"), stackFile(targetConfig));
    return dir;
}

describe("the documented path: initialize, up, align-servers, up, extend, align-launch, drill", () => {
    it("ends in a drill plan with no manual step", async () => {
        const dir = project();
        const { clock } = fakeClock();
        // web-1 replicated before there was a key: on the AWS managed key aws/ebs.
        const { world, access } = onboardingWorld([{ id: "s-0123456789abcd001", hostname: "web-1", ebsEncryption: "DEFAULT" }]);
        let out = "";
        let err = "";
        const cli = async (...argv: string[]) => {
            out = "";
            err = "";
            const code = await run(argv, {
                io: { out: (t) => void (out += t), err: (t) => void (err += t) },
                workspace: null,
                access: () => access,
                clock,
                progressDelayMs: 0,
                projectDir: dir,
            });
            return code;
        };
        const outputsFile = (name: string, outputs: Record<string, unknown>) => {
            const file = path.join(dir, `${name}.json`);
            fs.writeFileSync(file, JSON.stringify(outputs));
            return file;
        };
        const up = (config: Record<string, unknown>, stackOutputs: Record<string, Record<string, unknown>> = {}) =>
            runProgram(config, stackOutputs, {
                aws: { drsUninitialised: [staging, target].filter((a) => !world.serviceLinkedRoles.has(a)) },
            });

        // Before initialize, the staging stack cannot be planned: the key policy would name a role that does not exist.
        const refused = await up(stagingConfig).then(
            () => "planned",
            (e: Error) => e.message,
        );
        expect(refused).to.match(/DRS is not initialised in staging account 444455556666/);

        // 1. initialize, both stacks: a dry run says what it would do, --apply does it, a re-run has nothing left.
        expect(await cli("initialize", "-s", "staging"), err).to.equal(1);
        expect(world.writes).to.deep.equal([]);
        expect(await cli("initialize", "-s", "staging", "--apply"), err).to.equal(0);
        expect(await cli("initialize", "-s", "target", "--apply"), err).to.equal(0);
        expect(world.writes).to.deep.equal([`${staging}/${region} InitializeService`, `${target}/${region} InitializeService`]);
        expect(await cli("initialize", "-s", "staging"), err).to.equal(0);

        // 2. pulumi up on the staging stack.
        const stagingRun = await up(stagingConfig);
        const stagingOutputs = stagingRun.outputs;
        const [{ keyArn }] = stagingOutputs.stagingKeys as { keyArn: string }[];
        const stagingFile = outputsFile("staging", stagingOutputs);
        // Agents installed from now on replicate with the template's settings: on the key.
        world.install({ id: "s-0123456789abcd002", hostname: "db-1", ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: keyArn });
        world.install({ id: "s-0123456789abcd003", hostname: "app-1", ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: keyArn });

        // 3. align-servers: web-1, on aws/ebs, moves onto the key.
        expect(await cli("align-servers", "-s", "staging", "--outputs", stagingFile), err).to.equal(1);
        expect(await cli("align-servers", "-s", "staging", "--outputs", stagingFile, "--apply"), err).to.equal(0);
        expect(world.replication.get("s-0123456789abcd001")).to.deep.equal({ ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: keyArn });

        // Someone extended app-1 in the console before the target stack existed: it has DRS's own launch settings.
        const targetDrs = await access.drs(target, region);
        await targetDrs.send(
            new CreateExtendedSourceServerCommand({
                sourceServerArn: `arn:aws:drs:${region}:${staging}:source-server/s-0123456789abcd003`,
            }),
        );

        // 4. pulumi up on the target stack: from then on, extended servers take its launch settings.
        const targetRun = await up(targetConfig, { [stagingStack]: stagingOutputs });
        const targetFile = outputsFile("target", targetRun.outputs);
        world.launchTemplate = { launchDisposition: "STOPPED", copyTags: false };

        // 5. extend: web-1 and db-1 (app-1 is extended already), in one batch; a re-run has nothing left.
        expect(await cli("extend", "-s", "target", "--outputs", targetFile), err).to.equal(1);
        expect(await cli("extend", "-s", "target", "--outputs", targetFile, "--apply"), err).to.equal(0);
        expect([...world.extended.values()].map((s) => s.stagingArea?.stagingSourceServerArn?.split("/").pop()).sort()).to.deep.equal([
            "s-0123456789abcd001",
            "s-0123456789abcd002",
            "s-0123456789abcd003",
        ]);
        const writes = world.writes.length;
        expect(await cli("extend", "-s", "target", "--outputs", targetFile, "--apply"), err).to.equal(0);
        expect(world.writes.length).to.equal(writes);

        // 6. align-launch: app-1, extended before the launch settings, takes them; the others have them already.
        expect(await cli("align-launch", "-s", "target", "--outputs", targetFile), err).to.equal(1);
        expect(await cli("align-launch", "-s", "target", "--outputs", targetFile, "--apply"), err).to.equal(0);
        for (const config of world.launch.values()) expect(config).to.include({ launchDisposition: "STOPPED", copyTags: false });
        expect(world.writes.filter((w) => w.includes("UpdateLaunchConfiguration"))).to.have.length(1);

        // 7. drill: the plan takes every server, each on the key with the stack's launch settings, nothing left to do by hand.
        expect(await cli("drill", "-s", "target", "--outputs", targetFile, "--count", "3", "--json"), err + out).to.equal(0);
        const report = JSON.parse(out);
        expect(report.blockers).to.deep.equal([]);
        expect(report.plan.servers.map((s: { hostname: string }) => s.hostname).sort()).to.deep.equal(["app-1", "db-1", "web-1"]);
        for (const server of report.plan.servers) {
            expect(server).to.include({ onKey: "yes", replicationState: "CONTINUOUS" });
            expect(server.warnings).to.deep.equal([]);
            expect(server.launch).to.include({ launchDisposition: "STOPPED", copyTags: false });
        }
        expect(report.plan.skipped).to.deep.equal([]);
        expect(report.plan.notes).to.deep.equal([]);
    });
});
