import { expect } from "chai";
import { AccessCheck, accessReport, mismatches } from "../../plan/accessReport";
import { fleetProject } from "../support/fleet";
import { decide } from "../../plan/simulate";
import { synthesize } from "../../plan/synth";
import { SynthResult } from "../../plan/plan";

/** A generated fleet: `accounts` staging accounts, each in three Regions, into one target with two key-user roles. */
function fleet(accounts: number, targetAccess = "documented"): Promise<SynthResult> {
    const dir = fleetProject(accounts * 3, {
        target: { accountId: "111122223333", keyUserRoleNames: ["DrsRecoveryOperator", "DrsDrillRunner"] },
        key: { targetAccess },
        alerts: { enabled: false },
    });
    return synthesize("fleet", { projectDir: dir });
}

function summary(checks: AccessCheck[]) {
    return mismatches(checks).map((c) => `${c.key} ${c.who} ${c.action} ${c.via}: must ${c.expected}, is ${c.actual} ${c.detail ?? ""}`);
}

describe("access report", () => {
    it("finds no mismatch on the shipped staging and target stacks", async () => {
        for (const stack of ["staging", "target"]) {
            const checks = await accessReport(await synthesize(stack));
            expect(summary(checks)).to.deep.equal([]);
            expect(checks).to.have.length(41);
        }
    });

    it("denies what the key-loss and grant alerts watch, RevokeGrant included, to the target's key users and the staging non-admins", async () => {
        const checks = await accessReport(await synthesize("staging"));
        const watched = (who: string) =>
            checks.filter((c) => c.who === who && c.via === "directly" && c.expected === "deny").map((c) => c.action);
        for (const who of ["target key user (expected target policy)", "staging role without KMS rights"])
            expect(watched(who), who).to.include.members([
                "kms:DisableKey",
                "kms:ScheduleKeyDeletion",
                "kms:PutKeyPolicy",
                "kms:RevokeGrant",
            ]);
        expect(checks.filter((c) => c.action === "kms:RevokeGrant").map((c) => c.actual)).to.deep.equal(["deny", "deny"]);
    });

    it("judges a staging-only plan against the policy the target stack would attach", async () => {
        const checks = await accessReport(await synthesize("staging"));
        expect(
            checks.filter((c) => c.who === "target key user (expected target policy)" && c.expected === "allow").map((c) => c.action),
        ).to.deep.equal(["kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:DescribeKey"]);
    });

    it("finds no mismatch on a generated fleet split over several target policies", async () => {
        const plan = await fleet(15);
        expect(plan.plan.resources.filter((r) => r.type === "aws:iam/policy:Policy").length).to.be.greaterThan(1);
        const checks = await accessReport(plan);
        expect(summary(checks)).to.deep.equal([]);
        // 45 keys, each checked for both target roles.
        expect(new Set(checks.map((c) => c.key)).size).to.equal(45);
        expect([...new Set(checks.map((c) => c.who))]).to.include.members([
            "target role DrsRecoveryOperator",
            "target role DrsDrillRunner",
        ]);
    });

    it("denies the target Decrypt through EC2 by default (documented), and allows it with ebs-shared-snapshots", async () => {
        const decrypt = (checks: AccessCheck[]) =>
            checks.find((c) => c.who === "target role DrsRecoveryOperator" && c.action === "kms:Decrypt" && c.via === "ec2")!;
        const documented = await accessReport(await fleet(1));
        expect(summary(documented)).to.deep.equal([]);
        expect([decrypt(documented).expected, decrypt(documented).actual]).to.deep.equal(["deny", "deny"]);
        const shared = await accessReport(await fleet(1, "ebs-shared-snapshots"));
        expect(summary(shared)).to.deep.equal([]);
        expect([decrypt(shared).expected, decrypt(shared).actual]).to.deep.equal(["allow", "allow"]);
    });

    describe("catches a policy that is wrong", () => {
        async function withKeyPolicy(edit: (policy: any) => void): Promise<AccessCheck[]> {
            const result = await synthesize("target");
            const staging = Object.values(result.references)[0].plan;
            const key = staging.resources.find((r) => r.type === "aws:kms/key:Key")!;
            const policy = JSON.parse(key.inputs.policy as string);
            edit(policy);
            key.inputs.policy = JSON.stringify(policy);
            return accessReport(result);
        }

        it("a grant statement without kms:GrantIsForAWSResource: a denial becomes an allow", async () => {
            const checks = await withKeyPolicy(
                (p) => delete p.Statement.find((s: any) => s.Sid === "AllowStagingDrsServiceRoleGrantsThroughEc2").Condition.Bool,
            );
            expect(summary(checks)).to.deep.equal([
                "444455556666/us-east-1 staging DRS service-linked role kms:CreateGrant ec2: must deny, is allow ",
            ]);
        });

        it("a missing statement: a required allow becomes a denial", async () => {
            const checks = await withKeyPolicy(
                (p) => (p.Statement = p.Statement.filter((s: any) => s.Sid !== "AllowTargetAccountReEncryptThroughEc2")),
            );
            expect(summary(checks)).to.deep.equal([
                "444455556666/us-east-1 target role DrsRecoveryOperator kms:ReEncryptFrom ec2: must allow, is deny ",
                "444455556666/us-east-1 target role DrsRecoveryOperator kms:ReEncryptTo ec2: must allow, is deny ",
            ]);
        });

        it("a statement for the wrong Region, as in the guide", async () => {
            const checks = await withKeyPolicy((p) => {
                for (const s of p.Statement)
                    if (s.Condition?.StringEquals?.["kms:ViaService"])
                        s.Condition.StringEquals["kms:ViaService"] = "ec2.us-west-2.amazonaws.com";
            });
            expect(mismatches(checks).filter((c) => c.expected === "allow").length).to.be.greaterThan(5);
        });
    });

    it("treats a context key the simulator ignored as a failure", async () => {
        const keyPolicy = {
            Version: "2012-10-17" as const,
            Statement: [
                {
                    Sid: "A",
                    Effect: "Allow" as const,
                    Principal: { AWS: "arn:aws:iam::444455556666:root" },
                    Action: "kms:*",
                    Resource: "*",
                },
            ],
        };
        let error: Error | undefined;
        try {
            await decide({
                principal: "arn:aws:iam::444455556666:role/A",
                action: "kms:Decrypt",
                resource: "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                resourceAccount: "444455556666",
                context: { "kms:GrantIsForAWSResource": "true" },
                resourcePolicy: keyPolicy,
            });
        } catch (err) {
            error = err as Error;
        }
        expect(error?.message).to.equal("simulator ignored context keys kms:GrantIsForAWSResource for kms:Decrypt");
    });
});
