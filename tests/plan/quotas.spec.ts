import { expect } from "chai";
import * as path from "path";
import { fleetProject } from "../support/fleet";
import { capacityOf, formatCapacity, quotas, sharedWith } from "../../plan/quotas";
import { synthesize } from "../../plan/synth";
import { SynthResult } from "../../plan/plan";

/** Two recovery accounts, as config/schema.ts's targets[] takes them. */
const twoTargetSettings = [
    { accountId: "111122223333", keyUserRoleNames: ["DrsRecoveryOperator"], maxPoliciesPerRole: 15 },
    { accountId: "777788889999", keyUserRoleNames: ["OtherOperator"] },
];

describe("quotas: capacity of the plan", () => {
    let target: SynthResult;
    before(async () => {
        target = await synthesize("target");
    });

    it("keeps each quota with its source, and marks what AWS's own pages did not confirm", () => {
        expect(quotas.replicatingServers).to.include({ value: 300, confirmed: true });
        expect(quotas.replicatingServers.source).to.equal("https://docs.aws.amazon.com/drs/latest/userguide/multi-account.html");
        expect(quotas.sourceServers).to.include({ value: 4000, confirmed: false });
        expect(quotas.stagingAccountsPerTarget.value).to.equal(undefined);
        expect([quotas.keyPolicyBytes.value, quotas.managedPolicyChars.value, quotas.managedPoliciesPerRole.value]).to.deep.equal([
            32768, 6144, 10,
        ]);
    });

    it("per staging account and Region, per target, and IAM's and KMS's sizes, over the stacks the target reads", () => {
        const c = capacityOf(target);
        expect(c.staging).to.deep.equal([
            { stack: "staging", accountId: "444455556666", region: "us-east-1", targets: ["111122223333"], capacity: 300 },
        ]);
        expect(c.targets).to.deep.equal([
            {
                accountId: "111122223333",
                region: "us-east-1",
                stagingAccounts: ["444455556666"],
                stagingPlaces: 1,
                capacity: 300,
                sourceServerQuota: 4000,
            },
        ]);
        expect(c.keyPolicies.map((k) => [k.kind, k.limit])).to.deep.equal([
            ["DRS key", 32768],
            ["alert topic key", 32768],
        ]);
        expect(c.keyPolicies.every((k) => k.used > 100 && k.used < 32768)).to.equal(true);
        expect(c.keyUsePolicies.map((p) => [p.name, p.accountId, p.limit])).to.deep.equal([
            ["DrsCrossAccountKmsKeyUse", "111122223333", 6144],
        ]);
        expect(c.roles).to.deep.equal([
            { stack: "target", accountId: "111122223333", role: "DrsRecoveryOperator", attached: 1, quota: 10 },
            { stack: "staging", accountId: "444455556666", role: "DRSStagingAccountRole_111122223333", attached: 1, quota: 10 },
        ]);
        expect(c.findings).to.deep.equal([]);
        expect(formatCapacity(c).join("\n")).to.include("Nothing is near a limit.");
    });

    it("with --servers, says how many staging accounts and Regions the servers need", () => {
        const c = capacityOf(target, { total: 700 });
        expect(c.servers).to.deep.equal([{ servers: 700, places: 1, needed: 3, capacity: 300 }]);
        expect(c.findings).to.deep.equal(["700 servers need 3 staging accounts and Regions (300 each); the plan has 1: add 2."]);
        expect(capacityOf(target, { byRegion: { "us-east-1": 250 } }).findings).to.deep.equal([]);
        expect(capacityOf(target, { byRegion: { "eu-west-1": 1 } }).servers).to.deep.equal([
            { region: "eu-west-1", servers: 1, places: 0, needed: 1, capacity: 0 },
        ]);
    });

    it("reads the roles' quota from target.maxPoliciesPerRole, and flags what is near a limit", async () => {
        const dir = fleetProject(100, {
            target: { accountId: "111122223333", keyUserRoleNames: ["DrsRecoveryOperator"], maxPoliciesPerRole: 12 },
        });
        const c = capacityOf(await synthesize("fleet", { projectDir: dir, configFile: path.join(dir, "Pulumi.fleet.yaml") }));
        const role = c.roles.find((r) => r.role === "DrsRecoveryOperator")!;
        expect(role.quota).to.equal(12);
        expect(role.attached).to.be.greaterThan(1);
        expect(c.staging).to.have.length(100);
        // 100 entries of 300 servers each can extend 30,000 servers, 10,000 per Region: over the target's source-server quota.
        expect(c.findings.filter((f) => f.startsWith("servers the staging places can extend into 111122223333/"))).to.have.length(3);
    });

    it("with several targets: each staging place counts for each target, each role has its target's quota", async () => {
        const dir = fleetProject(2, { target: undefined, targets: twoTargetSettings });
        const c = capacityOf(await synthesize("fleet", { projectDir: dir, configFile: path.join(dir, "Pulumi.fleet.yaml") }));
        expect(c.staging.map((p) => p.targets)).to.deep.equal([
            ["111122223333", "777788889999"],
            ["111122223333", "777788889999"],
        ]);
        expect(c.targets.map((t) => `${t.accountId}/${t.region}`)).to.deep.equal([
            "111122223333/us-east-1",
            "111122223333/us-west-2",
            "777788889999/us-east-1",
            "777788889999/us-west-2",
        ]);
        expect(c.roles.filter((r) => !r.role.startsWith("DRS")).map((r) => [r.role, r.quota])).to.deep.equal([
            ["DrsRecoveryOperator", 15],
            ["OtherOperator", 10],
        ]);
    });

    it("reads the targets a key is shared with from its key policy, whatever their number", () => {
        const statement = (principal: string) => ({
            Sid: principal,
            Effect: "Allow" as const,
            Principal: { AWS: principal },
            Action: "kms:DescribeKey",
            Resource: "*",
        });
        expect(
            sharedWith(
                {
                    Version: "2012-10-17",
                    Statement: [
                        statement("arn:aws:iam::444455556666:root"),
                        statement("arn:aws:iam::777788889999:root"),
                        statement("arn:aws:iam::111122223333:root"),
                    ],
                },
                "444455556666",
            ),
        ).to.deep.equal(["111122223333", "777788889999"]);
    });
});
