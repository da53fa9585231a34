import {
    DescribeReplicationConfigurationTemplatesCommand,
    DescribeSourceServersCommand,
    GetReplicationConfigurationCommand,
    SourceServer,
} from "@aws-sdk/client-drs";
import { GetRoleCommand, ListAttachedRolePoliciesCommand } from "@aws-sdk/client-iam";
import { DecryptCommand, DescribeKeyCommand, GetKeyPolicyCommand, GetKeyRotationStatusCommand, KeyMetadata } from "@aws-sdk/client-kms";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { GetEbsDefaultKmsKeyIdCommand, GetEbsEncryptionByDefaultCommand } from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { parseConfig } from "../../config";
import { buildStagingRoleTrustPolicy } from "../../components/policies";
import { ConfiguredRetryStrategy } from "@smithy/util-retry";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Readable } from "stream";
import { AssumedRoleAccess, AwsAccess, describeAccessFailure, iamRegions, maxAttempts } from "../../ops/aws/access";
import { run } from "../../cli";
import { pricesWith } from "../../plan/pricing";
import { Deadline } from "../../ops/clock";
import { CheckResult, checkCatalog, exitCodeOf, formatResults, verify, verifyHelp } from "../../ops/verify";

import { failbackAws, failbackSettings } from "../support/failbackWorld";
import {
    awsError,
    byCheck,
    deployedKeyPolicy,
    healthyAws,
    keyArn,
    keyArnIn,
    keyExport,
    keyId,
    lastLaunch,
    mrkId,
    multiRegionMetadata,
    outputs,
    outputsFor,
    Place,
    region,
    roleArn,
    servers,
    serviceLinkedRole,
    settings,
    settingsFor,
    sourceServer,
    staging,
    stagingRole,
    sourceAccount,
    target,
    templateId,
} from "../support/verifyWorld";
import { NoAwsAccess, UnreachableAccount } from "../../ops/aws/faults";
import { NoStagingKeys } from "../../program/contract";

describe("verify", () => {
    it("passes every check on a healthy deployment", async () => {
        const { access } = healthyAws();
        const results = await verify({ settings, outputs }, access);
        expect(results.map((r) => [r.check, r.status])).to.deep.equal([
            ["drs-service-linked-role", "PASS"],
            ["staging-drs-initialised", "PASS"],
            ["key-state", "PASS"],
            ["key-rotation", "PASS"],
            ["key-policy", "PASS"],
            ["key-policy-size", "PASS"],
            ["staging-role", "PASS"],
            ["replication-template", "PASS"],
            ["source-server-encryption", "PASS"],
            ["replicating-capacity", "PASS"],
            ["target-describe-key", "PASS"],
            ["target-direct-decrypt-denied", "PASS"],
            ["target-drs-initialised", "PASS"],
            ["target-ebs-encryption", "PASS"],
            ["extended-source-servers", "PASS"],
            ["extended-server-replication", "PASS"],
            ["extension-coverage", "PASS"],
            ["extended-server-drills", "PASS"],
            ["server-readiness", "PASS"],
            ["target-capacity", "PASS"],
            ["monthly-cost", "INFO"],
        ]);
        expect(results.map((r) => r.scope)).to.deep.equal([
            staging,
            ...Array(11).fill(`${staging}/${region}`),
            `${target}/${region}`,
            `${target}/${region}`,
            `${staging}/${region}`,
            `${staging}/${region}`,
            `${staging}/${region}`,
            `${staging}/${region}`,
            `${staging}/${region}`,
            `${target}/${region}`,
            "all",
        ]);
        // Only the per-server view lists servers when all is well.
        expect(results.filter((r) => r.details !== undefined).map((r) => r.check)).to.deep.equal(["server-readiness"]);
        expect(byCheck(results)["server-readiness"].details!.map((d) => [d.sourceServerID, d.readiness])).to.deep.equal([
            ["s-1", "ready"],
            ["s-2", "ready"],
        ]);
        expect(byCheck(results)["source-server-encryption"].message).to.equal(
            `All 2 servers replicating in ${staging}/${region} use ebsEncryption CUSTOM with this key.`,
        );
        expect(byCheck(results)["extended-server-replication"].message).to.equal(
            `All 142 servers extended from ${staging} in ${region} replicate normally (CONTINUOUS, INITIAL_SYNC, RESCAN).`,
        );
        expect(byCheck(results)["target-direct-decrypt-denied"].message).to.match(/The guide's check expected InvalidCiphertextException/);
    });

    it("counts extended source servers over every page", async () => {
        const { access } = healthyAws();
        expect(byCheck(await verify({ settings, outputs }, access))["extended-source-servers"].message).to.equal(
            `142 of 300 servers of ${staging} are extended into the target.`,
        );
    });

    describe("fails, with the fix, when", () => {
        const failing = async (setUp: (m: ReturnType<typeof healthyAws>["mocks"]) => void, check: string) => {
            const { access, mocks } = healthyAws();
            setUp(mocks);
            return byCheck(await verify({ settings, outputs }, access))[check];
        };

        it("the key is scheduled for deletion", async () => {
            const r = await failing(
                (m) =>
                    m.stagingKms.on(DescribeKeyCommand).resolves({
                        KeyMetadata: { KeyId: keyId, KeyState: "PendingDeletion", DeletionDate: new Date("2026-12-28T00:00:00Z") },
                    }),
                "key-state",
            );
            expect(r.status).to.equal("FAIL");
            expect(r.message).to.match(/scheduled for deletion on 2026-12-28/);
            expect(r.fix).to.match(
                /^aws kms cancel-key-deletion --key-id arn:aws:kms:us-east-1:444455556666:key\/.*Unable to encrypt EBS volumes.*Unable to decrypt EBS snapshots/,
            );
        });

        it("the key is disabled", async () => {
            const r = await failing(
                (m) => m.stagingKms.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: keyId, KeyState: "Disabled" } }),
                "key-state",
            );
            expect([r.status, r.message]).to.deep.equal(["FAIL", `Key ${keyArn} is Disabled.`]);
        });

        it("rotation was turned off", async () => {
            const r = await failing(
                (m) => m.stagingKms.on(GetKeyRotationStatusCommand).resolves({ KeyRotationEnabled: false }),
                "key-rotation",
            );
            expect([r.status, r.message]).to.deep.equal(["FAIL", "Rotation is off, but the config says on (drift)."]);
        });

        it("the key policy drifted", async () => {
            const r = await failing((m) => {
                const policy = deployedKeyPolicy();
                policy.Statement = policy.Statement.filter((s) => s.Sid !== "AllowTargetAccountUseThroughEc2");
                policy.Statement.push({
                    Sid: "Extra",
                    Effect: "Allow",
                    Principal: { AWS: "arn:aws:iam::999988887777:root" },
                    Action: "kms:*",
                    Resource: "*",
                });
                m.stagingKms.on(GetKeyPolicyCommand).resolves({ Policy: JSON.stringify(policy) });
            }, "key-policy");
            expect(r.status).to.equal("FAIL");
            expect(r.message).to.equal(
                "The key policy differs from the one the program deploys: statement AllowTargetAccountUseThroughEc2 is missing; statement Extra is not the program's.",
            );
        });

        it("the staging role was replaced (the policy names the old one)", async () => {
            const r = await failing(
                (m) => m.stagingIam.on(GetRoleCommand).resolves(stagingRole({ RoleId: "AROANEWROLEID12345678" })),
                "key-policy",
            );
            expect(r.status).to.equal("FAIL");
            expect(r.message).to.match(
                /Id is "drs-cross-account-key-policy-AROAEXAMPLEROLEID1234", not "drs-cross-account-key-policy-AROANEWROLEID12345678"/,
            );
        });

        it("the staging role is missing", async () => {
            const r = await failing((m) => m.stagingIam.on(GetRoleCommand).rejects(awsError("NoSuchEntityException")), "staging-role");
            expect([r.status, r.message]).to.deep.equal([
                "FAIL",
                `DRSStagingAccountRole_${target} does not exist in ${staging}: DRS in the target cannot reach the staging area.`,
            ]);
        });

        it("the staging role trusts something else", async () => {
            const r = await failing((m) => {
                const trust = buildStagingRoleTrustPolicy("aws", target);
                delete (trust.Statement[0].Condition as Record<string, unknown>).StringLike;
                m.stagingIam.on(GetRoleCommand).resolves(stagingRole({ trust }));
            }, "staging-role");
            expect([r.status, r.message]).to.deep.equal([
                "FAIL",
                `${roleArn} has another trust policy: statement AllowDrsOnBehalfOfTargetAccount differs.`,
            ]);
        });

        it("the replication template does not use the key", async () => {
            const r = await failing(
                (m) =>
                    m.stagingDrs
                        .on(DescribeReplicationConfigurationTemplatesCommand)
                        .resolves({ items: [{ replicationConfigurationTemplateID: templateId, ebsEncryption: "DEFAULT" }] }),
                "replication-template",
            );
            expect(r.status).to.equal("FAIL");
            expect(r.message).to.equal(`Found ${templateId}: DEFAULT, not ebsEncryption CUSTOM with ${keyArn}.`);
            expect(r.fix).to.match(/Unable to encrypt EBS volumes/);
        });

        it("the target may not describe the key", async () => {
            const r = await failing(
                (m) =>
                    m.targetKms
                        .on(DescribeKeyCommand)
                        .rejects(awsError("AccessDeniedException", "not authorized to perform: kms:DescribeKey")),
                "target-describe-key",
            );
            expect(r.status).to.equal("FAIL");
            expect(r.fix).to.match(/AccessDeniedException when target account tries to use key/);
        });

        it("the target can decrypt directly", async () => {
            const r = await failing(
                (m) => m.targetKms.on(DecryptCommand).rejects(awsError("InvalidCiphertextException")),
                "target-direct-decrypt-denied",
            );
            expect([r.status, r.message]).to.deep.equal([
                "FAIL",
                "A direct Decrypt from the target was authorised (KMS only rejected the test ciphertext): the key is usable outside EC2.",
            ]);
        });

        it("DRS is not initialised in the target", async () => {
            const r = await failing(
                (m) => m.targetDrs.on(DescribeReplicationConfigurationTemplatesCommand).rejects(awsError("UninitializedAccountException")),
                "target-drs-initialised",
            );
            expect([r.status, r.scope, r.message]).to.deep.equal([
                "FAIL",
                `${target}/${region}`,
                `DRS is not initialised in ${target} in ${region}.`,
            ]);
            expect(r.fix).to.match(/aws drs initialize-service --region us-east-1.*Unable to decrypt EBS snapshots/);
        });

        it("DRS was never initialised in the staging account (no service-linked role)", async () => {
            const r = await failing(
                (m) =>
                    m.stagingIam
                        .on(GetRoleCommand, { RoleName: serviceLinkedRole })
                        .rejects(awsError("NoSuchEntityException", `The role with name ${serviceLinkedRole} cannot be found.`)),
                "drs-service-linked-role",
            );
            expect([r.status, r.scope, r.message]).to.deep.equal([
                "FAIL",
                staging,
                `DRS was never initialised in ${staging}: the role ${serviceLinkedRole} does not exist, and KMS refuses a key policy naming it.`,
            ]);
            expect(r.fix).to.equal(
                `Initialise DRS in ${staging} in each of its Regions (us-east-1): in the DRS console, or aws drs initialize-service --region <region>; then run \`pulumi up\` on the staging stack.`,
            );
        });
    });

    it("warns when no server is extended yet, and near the 300-server capacity", async () => {
        for (const [count, pattern] of [
            [0, /^No extended source servers from 444455556666 in the target yet \(0 of 300\)\.$/],
            [280, /^280 of 300 replicating servers of 444455556666 are extended: near the per-account limit\.$/],
        ] as const) {
            const { access, mocks } = healthyAws();
            mocks.targetDrs.on(DescribeSourceServersCommand).resolves({ items: servers(count) });
            const r = byCheck(await verify({ settings, outputs }, access))["extended-source-servers"];
            expect(r.status).to.equal("WARN");
            expect(r.message).to.match(pattern);
        }
    });

    describe("capacity, sizes and cost, from what the checks read", () => {
        it("counts servers replicating in each staging account and Region against DRS's 300, warning near it", async () => {
            const { access, mocks } = healthyAws();
            expect(byCheck(await verify({ settings, outputs }, access))["replicating-capacity"].message).to.equal(
                `2 of 300 replicating servers in ${staging}/${region}.`,
            );
            mocks.stagingDrs.on(DescribeSourceServersCommand).resolves({ items: servers(280) });
            const near = byCheck(await verify({ settings, outputs }, access))["replicating-capacity"];
            expect([near.status, near.message]).to.deep.equal([
                "WARN",
                `280 of 300 replicating servers in ${staging}/${region}: near DRS's limit per account and Region.`,
            ]);
            expect(near.fix).to.match(/another staging account/);
        });

        it("weighs the live key policy's bytes against KMS's 32,768", async () => {
            const { access, mocks } = healthyAws();
            const size = Buffer.byteLength(JSON.stringify(deployedKeyPolicy()), "utf8");
            expect(byCheck(await verify({ settings, outputs }, access))["key-policy-size"].message).to.equal(
                `The key policy takes ${size.toLocaleString("en-US")} of 32,768 bytes (${Math.round((size / 32768) * 100)}%).`,
            );
            const big = deployedKeyPolicy();
            big.Statement.push({
                Sid: "Padding",
                Effect: "Allow",
                Principal: { AWS: roleArn },
                Action: "kms:DescribeKey",
                Resource: "x".repeat(27_500),
            });
            mocks.stagingKms.on(GetKeyPolicyCommand).resolves({ Policy: JSON.stringify(big) });
            const r = byCheck(await verify({ settings, outputs }, access))["key-policy-size"];
            expect(r.status).to.equal("WARN");
            expect(r.message).to.match(/^The key policy takes 3\d,\d{3} of 32,768 bytes \(9\d%\): near KMS's limit\.$/);
        });

        it("adds up the servers extended into each target Region, against the source-server quota (marked unconfirmed)", async () => {
            const { access } = healthyAws();
            const r = byCheck(await verify({ settings, outputs }, access))["target-capacity"];
            expect(r.status).to.equal("PASS");
            expect(r.message).to.match(
                new RegExp(
                    `^142 servers extended into ${target} in ${region} from 1 of the stack's 1 staging accounts; source servers per account and Region: 4,000 \\(unconfirmed`,
                ),
            );
        });

        it("counts the managed policies of each key-user role against target.maxPoliciesPerRole", async () => {
            const { access, mocks } = healthyAws();
            const config = (max?: number) =>
                parseConfig({
                    target: { accountId: target, keyUserRoleNames: ["DrsRecoveryOperator"], ...(max ? { maxPoliciesPerRole: max } : {}) },
                    stagingAccounts: [{ accountId: staging, region }],
                }).settings;
            const r = byCheck(await verify({ settings: config(), outputs }, access))["managed-policies-per-role"];
            expect([r.status, r.scope, r.message]).to.deep.equal([
                "PASS",
                `${target}/DrsRecoveryOperator`,
                "Role DrsRecoveryOperator holds 2 of 10 managed policies (target.maxPoliciesPerRole).",
            ]);
            mocks.iam
                .get(target)!
                .on(ListAttachedRolePoliciesCommand)
                .resolves({ AttachedPolicies: Array(10).fill({ PolicyName: "P" }) });
            const full = byCheck(await verify({ settings: config(), outputs }, access))["managed-policies-per-role"];
            expect(full.status).to.equal("WARN");
            expect(byCheck(await verify({ settings: config(20), outputs }, access))["managed-policies-per-role"].status).to.equal("PASS");
            mocks.iam.get(target)!.on(ListAttachedRolePoliciesCommand).rejects(awsError("NoSuchEntityException"));
            const missing = byCheck(await verify({ settings: config(), outputs }, access))["managed-policies-per-role"];
            expect([missing.status, missing.message]).to.deep.equal([
                "FAIL",
                `Role DrsRecoveryOperator (target.keyUserRoleNames) does not exist in ${target}.`,
            ]);
        });

        it("prices the keys and the servers replicating now (INFO, never a failure), with --prices", async () => {
            const { access } = healthyAws();
            const plain = byCheck(await verify({ settings, outputs }, access))["monthly-cost"];
            expect(plain.status).to.equal("INFO");
            expect(plain.message).to.include("1 staging keys: $1.00 to $3.00 a month as rotations add up");
            expect(plain.message).to.include(
                "DRS: 2 replicating servers now; no DRS price for us-east-1 in the table: give it with --prices (drsServerHour)",
            );
            const priced = byCheck(await verify({ settings, outputs, prices: pricesWith({ drsServerHour: 0.03 }) }, access))[
                "monthly-cost"
            ];
            expect(priced.message).to.include("DRS: 2 replicating servers now, $43.80 a month at 730 hours");
            expect(formatResults([priced])).to.match(/^INFO       all /);
        });
    });

    it("says so when throttling outlasts the SDK's retries: not checked, never passed, not a crash", async () => {
        // The clients retry throttled calls themselves (tests/awsAccess.spec.ts); a mocked send is past that.
        const { access, mocks } = healthyAws();
        mocks.stagingKms.on(GetKeyRotationStatusCommand).rejects(awsError("ThrottlingException", "Rate exceeded"));
        const r = byCheck(await verify({ settings, outputs }, access))["key-rotation"];
        expect([r.status, r.message, r.unchecked?.kind]).to.deep.equal([
            "UNCHECKED",
            `Not checked: AWS in ${staging} kept failing after the SDK's retries (ThrottlingException: Rate exceeded).`,
            "service-error",
        ]);
        expect(mocks.stagingKms.commandCalls(GetKeyRotationStatusCommand)).to.have.length(1);
    });

    it("reports progress: each key with its account and Region, then the places without a key", async () => {
        const { access } = healthyAws();
        const lines: string[] = [];
        await verify({ settings: settingsFor([[staging, region]], [region]), outputs }, access, { progress: (l) => lines.push(l) });
        expect(lines).to.deep.equal([
            `Checking key 1 of 1: staging account ${staging} in ${region}, and target account ${target} there...`,
        ]);
    });

    it("is not checked, naming the permission, when the credentials may not read what a check needs", async () => {
        const { access, mocks } = healthyAws();
        mocks.stagingKms.on(GetKeyPolicyCommand).rejects(awsError("AccessDeniedException", "not authorized to perform: kms:GetKeyPolicy"));
        const results = await verify({ settings, outputs }, access);
        const r = byCheck(results)["key-policy"];
        expect(r.status).to.equal("UNCHECKED");
        expect(r.message).to.equal(
            `Not checked: the credentials for ${staging} were refused kms:GetKeyPolicy (AccessDeniedException: not authorized to perform: kms:GetKeyPolicy).`,
        );
        expect(r.unchecked).to.deep.include({ kind: "refused", permission: "kms:GetKeyPolicy" });
        expect(r.fix).to.match(/--print-policy/);
        // The size check needs the policy it could not read: not checked either, and it says which check to see.
        expect([byCheck(results)["key-policy-size"].status, byCheck(results)["key-policy-size"].unchecked?.kind]).to.deep.equal([
            "UNCHECKED",
            "depends",
        ]);
    });

    it("says which account it cannot reach", async () => {
        const { access } = healthyAws();
        const noTarget: AwsAccess = {
            ...access,
            kms: async (account, r) =>
                account === target ? Promise.reject(new UnreachableAccount(target, "no role")) : access.kms(account, r),
            drs: async (account, r) =>
                account === target ? Promise.reject(new UnreachableAccount(target, "no role")) : access.drs(account, r),
        };
        const results = await verify({ settings, outputs }, noTarget);
        expect(results.filter((r) => r.status === "UNCHECKED").map((r) => r.check)).to.deep.equal([
            "target-describe-key",
            "target-direct-decrypt-denied",
            "target-drs-initialised",
            "extended-source-servers",
            "extended-server-replication",
            "extension-coverage",
            "extended-server-drills",
            "server-readiness",
            "target-capacity",
        ]);
        expect(byCheck(results)["target-describe-key"].message).to.equal(`Not checked: cannot reach account ${target}: no role.`);
        expect(byCheck(results)["target-describe-key"].unchecked?.kind).to.equal("unreachable");
    });

    it("cannot start without the stack's keys", async () => {
        const { access } = healthyAws();
        let error: Error | undefined;
        try {
            await verify({ settings, outputs: { targetAccountId: target } }, access);
        } catch (err) {
            error = err as Error;
        }
        expect(error).to.be.instanceOf(NoStagingKeys);
    });
});

describe("verify: three outcomes, the target's side, and the proof of recovery", () => {
    const check = async (access: AwsAccess, name: string, input: Partial<Parameters<typeof verify>[0]> = {}) =>
        byCheck(await verify({ settings, outputs, stack: "target", ...input }, access))[name];

    it("exit code: 0 every check ran and passed (warnings included), 1 a failure, 3 none failed but some could not run, 2 none ran", () => {
        const r = (status: CheckResult["status"]): CheckResult => ({ check: "c", scope: "s", status, message: "m" });
        expect(exitCodeOf([r("PASS"), r("WARN"), r("INFO")])).to.equal(0);
        expect(exitCodeOf([r("PASS"), r("UNCHECKED"), r("INFO")])).to.equal(3);
        expect(exitCodeOf([r("FAIL"), r("UNCHECKED")])).to.equal(1);
        expect(exitCodeOf([r("UNCHECKED"), r("UNCHECKED"), r("INFO")])).to.equal(2);
    });

    it("the command exits 3 when a check could not run and none failed, and says so on stderr", async () => {
        const { access, mocks } = healthyAws();
        mocks.stagingKms
            .on(GetKeyRotationStatusCommand)
            .rejects(awsError("AccessDeniedException", "not authorized to perform: kms:GetKeyRotationStatus"));
        const outputsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "drs-verify-")), "outputs.json");
        fs.writeFileSync(outputsFile, JSON.stringify(outputs));
        let out = "";
        let err = "";
        const code = await run(["verify", "-s", "staging", "--outputs", outputsFile, "--json"], {
            io: { out: (t) => void (out += t), err: (t) => void (err += t) },
            workspace: null,
            access: () => access,
        });
        expect(code).to.equal(3);
        const rotation = (JSON.parse(out) as CheckResult[]).find((c) => c.check === "key-rotation")!;
        expect(rotation.unchecked).to.deep.equal({
            kind: "refused",
            why: `the credentials for ${staging} were refused kms:GetKeyRotationStatus (AccessDeniedException: not authorized to perform: kms:GetKeyRotationStatus)`,
            permission: "kms:GetKeyRotationStatus",
        });
        expect(err).to.include("warning: 1 check could not run (UNCHECKED, with why): not a pass. Exit code 3.\n");
    });

    it("checks begun after the time limit are not checked (fake clock: each AWS call takes a minute)", async () => {
        const { access, mocks } = healthyAws();
        let now = Date.parse("2026-12-04T10:00:00Z");
        const clock = { now: () => now, sleep: async () => undefined };
        for (const mock of mocks.kms.values())
            mock.on(DescribeKeyCommand).callsFake(async () => {
                now += 60_000;
                return { KeyMetadata: { KeyId: keyId, KeyState: "Enabled" } };
            });
        const results = await verify({ settings, outputs }, access, { deadline: new Deadline(clock, 2), clock });
        const limited = results.filter((r) => r.unchecked?.kind === "time-limit").map((r) => r.check);
        expect(limited[0]).to.equal("target-direct-decrypt-denied"); // the target's DescribeKey took the second minute
        expect(limited).to.include("extended-source-servers");
        expect(results.find((r) => r.unchecked?.kind === "time-limit")?.fix).to.match(/--time-limit/);
        expect(exitCodeOf(results)).to.equal(3);
    });

    it("an answer AWS does not send is not checked, as malformed, never a crash", async () => {
        const { access, mocks } = healthyAws();
        mocks.targetEc2.on(GetEbsEncryptionByDefaultCommand).resolves({});
        const r = await check(access, "target-ebs-encryption");
        expect([r.status, r.unchecked?.kind, r.message]).to.deep.equal([
            "UNCHECKED",
            "malformed",
            "Not checked: ec2:GetEbsEncryptionByDefault answered no EbsEncryptionByDefault: that is not an answer AWS sends.",
        ]);
        mocks.stagingDrs.on(DescribeSourceServersCommand).resolves({ items: [], nextToken: "same" });
        const pages = await check(access, "source-server-encryption");
        expect([pages.status, pages.unchecked?.kind]).to.deep.equal(["UNCHECKED", "malformed"]);
        expect(pages.message).to.include("drs:DescribeSourceServers answered the same page token twice");
    });

    it("a service that keeps answering 500 is not checked, as a service error", async () => {
        const { access, mocks } = healthyAws();
        mocks.stagingKms.on(GetKeyPolicyCommand).rejects(
            Object.assign(awsError("InternalFailure", "We encountered an internal error"), {
                $fault: "server",
                $metadata: { httpStatusCode: 500 },
            }),
        );
        expect((await check(access, "key-policy")).unchecked?.kind).to.equal("service-error");
    });

    describe("target-ebs-encryption, per target Region", () => {
        it("passes with a key of the target, or its AWS managed key", async () => {
            const { access, mocks } = healthyAws();
            expect((await check(access, "target-ebs-encryption")).message).to.equal(
                `EBS encryption by default is on in ${target}/${region}, with the target's key ${keyArnIn(target, region, "9999aaaa-12ab-34cd-56ef-1234567890ab")}.`,
            );
            mocks.targetEc2.on(GetEbsDefaultKmsKeyIdCommand).resolves({ KmsKeyId: "alias/aws/ebs" });
            const managed = await check(access, "target-ebs-encryption");
            expect([managed.status, managed.message]).to.deep.equal([
                "PASS",
                `EBS encryption by default is on in ${target}/${region}, with the target's AWS managed key aws/ebs.`,
            ]);
        });

        it("warns when it is off, or on with a staging account's key", async () => {
            const { access, mocks } = healthyAws();
            mocks.targetEc2.on(GetEbsEncryptionByDefaultCommand).resolves({ EbsEncryptionByDefault: false });
            const off = await check(access, "target-ebs-encryption");
            expect(off.status).to.equal("WARN");
            expect(off.message).to.match(/^EBS encryption by default is off in 111122223333\/us-east-1/);
            expect(off.fix).to.equal(
                "In the target: aws ec2 enable-ebs-encryption-by-default --region us-east-1, and aws ec2 modify-ebs-default-kms-key-id --kms-key-id <a key of the target> --region us-east-1.",
            );
            mocks.targetEc2.on(GetEbsEncryptionByDefaultCommand).resolves({ EbsEncryptionByDefault: true });
            mocks.targetEc2.on(GetEbsDefaultKmsKeyIdCommand).resolves({ KmsKeyId: keyArn });
            const staged = await check(access, "target-ebs-encryption");
            expect([staged.status, staged.message]).to.deep.equal([
                "WARN",
                `EBS encryption by default is on in ${target}/${region}, with ${keyArn}, a key of the staging account ${staging}: every volume created there by default depends on that account's key, which may be lost with it in a disaster.`,
            ]);
        });
    });

    describe("extended-server-drills: each extended server's last drill or recovery", () => {
        const extendedWith = (mocks: ReturnType<typeof healthyAws>["mocks"], list: SourceServer[]) =>
            mocks.targetDrs.on(DescribeSourceServersCommand).resolves({ items: list });

        it("passes when each was drilled or recovered, and launched, within 90 days", async () => {
            const { access, mocks } = healthyAws();
            extendedWith(mocks, [
                sourceServer("s-1", { lastLaunch: lastLaunch("DRILL", "TERMINATED", 89) }),
                sourceServer("s-2", { lastLaunch: lastLaunch("RECOVERY", "LAUNCHED", 1) }),
            ]);
            const r = await check(access, "extended-server-drills");
            expect([r.status, r.message]).to.deep.equal([
                "PASS",
                `All 2 servers extended from ${staging} in ${region} were drilled or recovered within 90 days, their last launch not failed.`,
            ]);
        });

        it("warns 'unproven' for a server never drilled or whose last drill failed, naming the drill command; and one drilled too long ago", async () => {
            const { access, mocks } = healthyAws();
            extendedWith(mocks, [
                sourceServer("s-1", { hostname: "web-1", lastLaunch: null }),
                sourceServer("s-2", { lastLaunch: lastLaunch("DRILL", "FAILED", 3) }),
                sourceServer("s-3", { lastLaunch: lastLaunch("DRILL", "TERMINATED", 120) }),
                sourceServer("s-4"),
            ]);
            const r = await check(access, "extended-server-drills");
            expect(r.status).to.equal("WARN");
            expect(r.message).to.match(
                new RegExp(
                    `^Unproven: 1 never drilled or recovered \\(s-1 \\(web-1\\)\\); 1 whose last launch failed \\(s-2: DRILL \\S+\\); 1 last drilled or recovered more than 90 days ago \\(s-3: 120 days\\), of the 4 servers extended from ${staging} in ${region}\\.$`,
                ),
            );
            expect(r.fix).to.equal(
                "Drill them in the target: `npm run -s drill -- -s target --server <id> --start` (or --count <n> per staging entry); only a drill proves the chain of keys and roles (--max-drill-age sets the age, default 90 days).",
            );
            expect(r.details!.map((d) => [d.sourceServerID, d.lastLaunchType, d.lastLaunchStatus, d.ageDays])).to.deep.equal([
                ["s-1", undefined, undefined, undefined],
                ["s-2", "DRILL", "FAILED", 3],
                ["s-3", "DRILL", "TERMINATED", 120],
            ]);
        });

        it("--max-drill-age sets the age", async () => {
            const { access, mocks } = healthyAws();
            extendedWith(mocks, [sourceServer("s-1", { lastLaunch: lastLaunch("DRILL", "TERMINATED", 10) })]);
            expect((await check(access, "extended-server-drills", { maxDrillAgeDays: 7 })).message).to.include(
                "1 last drilled or recovered more than 7 days ago (s-1: 10 days)",
            );
        });
    });

    it("a server replicating unencrypted (NONE) alone is a warning of its own: recoverable without a key", async () => {
        const { access, mocks } = healthyAws();
        mocks.stagingDrs
            .on(DescribeSourceServersCommand)
            .resolves({ items: [sourceServer("s-1"), sourceServer("s-2", { hostname: "files-1" })] })
            .on(GetReplicationConfigurationCommand, { sourceServerID: "s-2" })
            .resolves({ ebsEncryption: "NONE" });
        const r = await check(access, "source-server-encryption", { stack: "staging" });
        expect([r.status, r.message]).to.deep.equal([
            "WARN",
            "1 of 2 replicates unencrypted (ebsEncryption NONE): recoverable in the target without a key, but their staging disks and points in time are not encrypted: s-2 (files-1).",
        ]);
        expect(r.fix).to.equal(
            "To encrypt them with this key: `npm run -s align-servers -- --stack staging --include-unencrypted` (a full sync may follow).",
        );
    });
});

describe("verify's source-server checks", () => {
    const check = async (access: AwsAccess, name: string, input: { stack?: string } = {}) => {
        const r = (await verify({ settings, outputs, ...input }, access)).filter((x) => x.check === name);
        expect(r).to.have.length(1);
        return r[0];
    };
    const otherKey = keyArnIn(staging, "us-west-2");

    describe("source-server-encryption (staging account)", () => {
        it("reads every page of source servers and each server's own configuration", async () => {
            const { access, mocks } = healthyAws();
            mocks.stagingDrs
                .on(DescribeSourceServersCommand, { nextToken: undefined })
                .resolves({ items: servers(100, "a-"), nextToken: "t2" })
                .on(DescribeSourceServersCommand, { nextToken: "t2" })
                .resolves({ items: servers(100, "b-"), nextToken: "t3" })
                .on(DescribeSourceServersCommand, { nextToken: "t3" })
                .resolves({ items: servers(50, "c-") });
            const r = await check(access, "source-server-encryption");
            expect([r.status, r.message]).to.deep.equal([
                "PASS",
                `All 250 servers replicating in ${staging}/${region} use ebsEncryption CUSTOM with this key.`,
            ]);
            expect(mocks.stagingDrs.commandCalls(DescribeSourceServersCommand).map((c) => c.args[0].input.nextToken)).to.deep.equal([
                undefined,
                "t2",
                "t3",
            ]);
            const read = mocks.stagingDrs.commandCalls(GetReplicationConfigurationCommand).map((c) => c.args[0].input.sourceServerID);
            expect(new Set(read).size).to.equal(250);
            expect(read).to.include.members(["a-001", "b-100", "c-050"]);
        });

        it("lists every server not on exactly this key: DEFAULT, another key, NONE", async () => {
            const { access, mocks } = healthyAws();
            mocks.stagingDrs
                .on(DescribeSourceServersCommand)
                .resolves({
                    items: [
                        sourceServer("s-1", { hostname: "web-1" }),
                        sourceServer("s-2", { hostname: "db-1" }),
                        sourceServer("s-3", { hostname: "app-1" }),
                        sourceServer("s-4"),
                    ],
                })
                .on(GetReplicationConfigurationCommand, { sourceServerID: "s-2" })
                .resolves({ ebsEncryption: "DEFAULT" })
                .on(GetReplicationConfigurationCommand, { sourceServerID: "s-3" })
                .resolves({ ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: otherKey })
                .on(GetReplicationConfigurationCommand, { sourceServerID: "s-4" })
                .resolves({ ebsEncryption: "NONE" });
            const r = await check(access, "source-server-encryption", { stack: "staging" });
            // NONE needs no key to be recovered in the target: said on its own, not counted as off the key.
            expect([r.status, r.message]).to.deep.equal([
                "FAIL",
                `2 of 4 servers replicating in ${staging}/${region} are not on this key: 1 DEFAULT (aws/ebs), 1 on another key: s-2 (db-1), s-3 (app-1). ` +
                    "1 of 4 replicates unencrypted (ebsEncryption NONE): recoverable in the target without a key, but their staging disks and points in time are not encrypted: s-4.",
            ]);
            expect(r.fix).to.match(
                /^Move them onto arn:aws:kms:us-east-1:444455556666:key\/\S+: `npm run -s align-servers -- --stack staging` lists the changes, and with --apply makes them\. Changing a server's EBS encryption may need a full sync/,
            );
            expect(r.details).to.deep.equal([
                {
                    sourceServerID: "s-2",
                    hostname: "db-1",
                    ebsEncryption: "DEFAULT",
                    ebsEncryptionKeyArn: undefined,
                    encryption: "DEFAULT (the AWS managed key aws/ebs)",
                },
                {
                    sourceServerID: "s-3",
                    hostname: "app-1",
                    ebsEncryption: "CUSTOM",
                    ebsEncryptionKeyArn: otherKey,
                    encryption: `CUSTOM ${otherKey}`,
                },
                { sourceServerID: "s-4", hostname: undefined, ebsEncryption: "NONE", ebsEncryptionKeyArn: undefined, encryption: "NONE" },
            ]);
        });

        it("stays short at 300 servers: counts and the first few, with every server in details", async () => {
            const { access, mocks } = healthyAws();
            mocks.stagingDrs
                .on(DescribeSourceServersCommand)
                .resolves({ items: servers(300) })
                .on(GetReplicationConfigurationCommand)
                .callsFake(({ sourceServerID }: { sourceServerID: string }) => {
                    const n = Number(sourceServerID.slice(2));
                    if (n <= 9) return { ebsEncryption: "DEFAULT" };
                    if (n <= 12) return { ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: otherKey };
                    return { ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: keyArn };
                });
            const twelve = await check(access, "source-server-encryption");
            expect(twelve.message).to.equal(
                `12 of 300 servers replicating in ${staging}/${region} are not on this key: 9 DEFAULT (aws/ebs), 3 on another key: ` +
                    "s-001 (host-1), s-002 (host-2), s-003 (host-3), s-004 (host-4), s-005 (host-5) and 7 more.",
            );
            expect(twelve.details).to.have.length(12);

            mocks.stagingDrs.on(GetReplicationConfigurationCommand).resolves({ ebsEncryption: "DEFAULT" });
            const results = await verify({ settings, outputs }, access);
            const all = byCheck(results)["source-server-encryption"];
            expect(all.message).to.have.length.below(250);
            expect(all.message).to.match(/^300 of 300 servers .* 300 DEFAULT \(aws\/ebs\): s-001 \(host-1\), .* and 295 more\.$/);
            expect(all.details?.map((d) => d.sourceServerID)).to.deep.equal(servers(300).map((x) => x.sourceServerID));
            // The checks' lines stay short; the readiness view below them has one line per server.
            const [checks, readiness] = formatResults(results).split("\nServer readiness");
            expect(checks).to.include("and 295 more");
            expect(checks).not.to.include("s-006");
            expect(readiness.split("\n").filter((l) => /^ {4}NOT READY +s-\d{3} /.test(l))).to.have.length(300);
        });

        it("reads at most 8 servers' configurations at a time", async () => {
            const { access, mocks } = healthyAws();
            let inFlight = 0;
            let most = 0;
            mocks.stagingDrs
                .on(DescribeSourceServersCommand)
                .resolves({ items: servers(40) })
                .on(GetReplicationConfigurationCommand)
                .callsFake(async () => {
                    most = Math.max(most, ++inFlight);
                    await new Promise((resolve) => setTimeout(resolve, 2));
                    inFlight--;
                    return { ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: keyArn };
                });
            expect((await check(access, "source-server-encryption")).status).to.equal("PASS");
            expect(most).to.equal(8);
        });

        it("leaves out servers extended into the staging account from another account", async () => {
            const { access, mocks } = healthyAws();
            mocks.stagingDrs
                .on(DescribeSourceServersCommand)
                .resolves({ items: [sourceServer("s-1", { hostname: "web-1" }), sourceServer("s-x", { stagingArea: "EXTENDED" })] })
                .on(GetReplicationConfigurationCommand, { sourceServerID: "s-x" })
                .resolves({ ebsEncryption: "DEFAULT" });
            const r = await check(access, "source-server-encryption");
            expect([r.status, r.message]).to.deep.equal([
                "PASS",
                `The one server replicating in ${staging}/${region} uses ebsEncryption CUSTOM with this key.`,
            ]);
            expect(
                mocks.stagingDrs.commandCalls(GetReplicationConfigurationCommand).map((c) => c.args[0].input.sourceServerID),
            ).to.deep.equal(["s-1"]);
        });

        it("skips a server deleted between the listing and its read", async () => {
            const { access, mocks } = healthyAws();
            mocks.stagingDrs
                .on(GetReplicationConfigurationCommand, { sourceServerID: "s-2" })
                .rejects(awsError("ResourceNotFoundException", "Source server not found"));
            const r = await check(access, "source-server-encryption");
            expect([r.status, r.message]).to.deep.equal([
                "PASS",
                `The one server replicating in ${staging}/${region} uses ebsEncryption CUSTOM with this key.`,
            ]);
        });

        it("warns when no server replicates there yet", async () => {
            const { access, mocks } = healthyAws();
            mocks.stagingDrs.on(DescribeSourceServersCommand).resolves({ items: [] });
            const r = await check(access, "source-server-encryption");
            expect([r.status, r.message]).to.deep.equal(["WARN", `No source server replicates in ${staging}/${region} yet.`]);

            // Nor when the only servers listed were deleted before their configuration could be read.
            mocks.stagingDrs
                .on(DescribeSourceServersCommand)
                .resolves({ items: [sourceServer("s-1")] })
                .on(GetReplicationConfigurationCommand)
                .rejects(awsError("ResourceNotFoundException"));
            expect((await check(access, "source-server-encryption")).status).to.equal("WARN");
        });

        it("is not checked, never passed, when a server's configuration may not be read", async () => {
            const { access, mocks } = healthyAws();
            mocks.stagingDrs
                .on(GetReplicationConfigurationCommand)
                .rejects(awsError("AccessDeniedException", "not authorized to perform: drs:GetReplicationConfiguration"));
            const r = await check(access, "source-server-encryption");
            expect([r.status, r.message]).to.deep.equal([
                "UNCHECKED",
                `Not checked: the credentials for ${staging} were refused drs:GetReplicationConfiguration (AccessDeniedException: not authorized to perform: drs:GetReplicationConfiguration).`,
            ]);
        });
    });

    describe("extended-server-replication (target account)", () => {
        it("fails on an extension error, with its message, and on an unhealthy state; healthy states pass", async () => {
            const { access, mocks } = healthyAws();
            const message = `Failed to assume role DRSStagingAccountRole_${target} in account ${staging}`;
            mocks.targetDrs.on(DescribeSourceServersCommand).resolves({
                items: [
                    sourceServer("s-1", { hostname: "web-1", state: "CONTINUOUS", stagingArea: "EXTENDED" }),
                    sourceServer("s-2", { hostname: "db-1", state: "INITIAL_SYNC", stagingArea: "EXTENDED" }),
                    sourceServer("s-3", { state: "RESCAN", stagingArea: "EXTENDED" }),
                    sourceServer("s-4", { hostname: "app-1", stagingArea: "EXTENSION_ERROR", errorMessage: message }),
                    sourceServer("s-5", { hostname: "app-2", state: "STALLED", stagingArea: "EXTENDED" }),
                ],
            });
            const r = await check(access, "extended-server-replication");
            expect([r.status, r.message]).to.deep.equal([
                "FAIL",
                `2 of 5 servers extended from ${staging} in ${region} need attention: ` +
                    `1 with an extension error (s-4 (app-1): ${message}); 1 not replicating normally (1 STALLED: s-5 (app-2)).`,
            ]);
            expect(r.fix).to.match(/^Extension errors: .* Servers not replicating normally: /);
            expect(r.details).to.deep.equal([
                {
                    sourceServerID: "s-4",
                    hostname: "app-1",
                    stagingAreaStatus: "EXTENSION_ERROR",
                    dataReplicationState: "CONTINUOUS",
                    errorMessage: message,
                },
                {
                    sourceServerID: "s-5",
                    hostname: "app-2",
                    stagingAreaStatus: "EXTENDED",
                    dataReplicationState: "STALLED",
                    errorMessage: undefined,
                },
            ]);
            // The capacity check reads the same listing.
            expect((await check(access, "extended-source-servers")).message).to.equal(
                `5 of 300 servers of ${staging} are extended into the target.`,
            );
        });

        it("counts unhealthy servers per state over every page, showing the first few", async () => {
            const { access, mocks } = healthyAws();
            const stalled = servers(100).map((x) => ({ ...x, dataReplicationInfo: { dataReplicationState: "STALLED" } }));
            const disconnected = servers(42, "d-").map((x) => ({
                ...x,
                dataReplicationInfo: { dataReplicationState: "DISCONNECTED", dataReplicationError: { error: "AGENT_NOT_SEEN" } },
            }));
            mocks.targetDrs
                .on(DescribeSourceServersCommand, { nextToken: undefined })
                .resolves({ items: stalled as SourceServer[], nextToken: "page-2" })
                .on(DescribeSourceServersCommand, { nextToken: "page-2" })
                .resolves({ items: disconnected as SourceServer[] });
            const r = await check(access, "extended-server-replication");
            expect(r.message).to.equal(
                `142 of 142 servers extended from ${staging} in ${region} need attention: 142 not replicating normally ` +
                    "(100 STALLED, 42 DISCONNECTED: s-001 (host-1), s-002 (host-2), s-003 (host-3), s-004 (host-4), s-005 (host-5) and 137 more).",
            );
            expect(r.details).to.have.length(142);
            expect(r.details?.[141]).to.include({
                sourceServerID: "d-042",
                dataReplicationState: "DISCONNECTED",
                errorMessage: "AGENT_NOT_SEEN",
            });
        });
    });

    describe("DRS initialised", () => {
        const west = "us-west-2";
        const other = "777788889999";

        it("fails only in the staging Region where DRS was never initialised", async () => {
            const places: Place[] = [
                [staging, region],
                [staging, west],
            ];
            const { access, mocks } = healthyAws(places);
            const uninitialised = awsError("UninitializedAccountException", "Account not initialized");
            mocks.drs
                .get(`${staging}/${west}`)!
                .on(DescribeReplicationConfigurationTemplatesCommand)
                .rejects(uninitialised)
                .on(DescribeSourceServersCommand)
                .rejects(uninitialised);
            const results = await verify({ settings: settingsFor(places), outputs: outputsFor(places) }, access);
            const drsChecks = results.filter((r) => r.check === "staging-drs-initialised");
            expect(drsChecks.map((r) => [r.scope, r.status, r.message])).to.deep.equal([
                [`${staging}/${region}`, "PASS", `DRS is initialised in ${staging} in ${region}.`],
                [`${staging}/${west}`, "FAIL", `DRS is not initialised in ${staging} in ${west}.`],
            ]);
            expect(drsChecks[1].fix).to.match(/aws drs initialize-service --region us-west-2/);
            const servers = results.find((r) => r.check === "source-server-encryption" && r.scope === `${staging}/${west}`);
            expect([servers?.status, servers?.message]).to.deep.equal([
                "UNCHECKED",
                `Not checked: DRS is not initialised in ${staging} in this Region (UninitializedAccountException).`,
            ]);
        });

        it("checks each account, and each account and Region, once however many keys share them", async () => {
            const places: Place[] = [
                [staging, region],
                [staging, west],
                [other, region],
            ];
            const { access, mocks } = healthyAws(places);
            const results = await verify({ settings: settingsFor(places), outputs: outputsFor(places) }, access);
            const scopes = (check: string) => results.filter((r) => r.check === check).map((r) => r.scope);
            expect(scopes("drs-service-linked-role")).to.deep.equal([staging, other]);
            expect(scopes("staging-drs-initialised")).to.deep.equal([`${staging}/${region}`, `${staging}/${west}`, `${other}/${region}`]);
            expect(scopes("target-drs-initialised")).to.deep.equal([`${target}/${region}`, `${target}/${west}`]);
            expect(scopes("key-state")).to.have.length(3);
            expect(results.filter((r) => r.status !== "PASS" && r.status !== "INFO")).to.deep.equal([]);
            expect(mocks.iam.get(staging)!.commandCalls(GetRoleCommand, { RoleName: serviceLinkedRole })).to.have.length(1);
            for (const r of [region, west])
                expect(mocks.drs.get(`${target}/${r}`)!.commandCalls(DescribeReplicationConfigurationTemplatesCommand)).to.have.length(1);
            // The staging template is read by replication-template as well as by the DRS check.
            expect(mocks.drs.get(`${staging}/${west}`)!.commandCalls(DescribeReplicationConfigurationTemplatesCommand)).to.have.length(2);
        });

        it("checks configured Regions the outputs have no key for yet", async () => {
            const places: Place[] = [
                [staging, region],
                [staging, west],
            ];
            const { access } = healthyAws(places);
            const results = await verify({ settings: settingsFor(places, [region, west]), outputs }, access);
            expect(
                results
                    .filter((r) => r.check.endsWith("drs-initialised") || r.check === "drs-service-linked-role")
                    .map((r) => [r.check, r.scope]),
            ).to.deep.equal([
                ["drs-service-linked-role", staging],
                ["staging-drs-initialised", `${staging}/${region}`],
                ["target-drs-initialised", `${target}/${region}`],
                ["staging-drs-initialised", `${staging}/${west}`],
                ["target-drs-initialised", `${target}/${west}`],
            ]);
        });
    });
});

describe("verify, multi-Region and adopted keys", () => {
    const west = "us-west-2";
    const eu = "eu-west-1";
    const places: Place[] = [
        [staging, region],
        [staging, west],
        [staging, eu],
    ];
    const mrkArn = (r: string) => keyArnIn(staging, r, mrkId);
    const run = async (setUp: (m: ReturnType<typeof healthyAws>["mocks"]) => void = () => undefined) => {
        const { access, mocks } = healthyAws(places, { multiRegion: true });
        setUp(mocks);
        return verify({ settings: settingsFor(places), outputs: outputsFor(places, { multiRegion: true }) }, access);
    };
    const at = (results: CheckResult[], check: string, r: string) => {
        const found = results.filter((x) => x.check === check && x.scope === `${staging}/${r}`);
        expect(found, `${check} in ${r}`).to.have.length(1);
        return found[0];
    };
    const kmsIn = (m: ReturnType<typeof healthyAws>["mocks"], r: string) => m.kms.get(`${staging}/${r}`)!;
    /** The primary's DescribeKey, its ReplicaKeys limited to `regions`. */
    const primaryListing = (regions: string[]) => {
        const m = multiRegionMetadata(places, [staging, region]);
        m.MultiRegionConfiguration!.ReplicaKeys = regions.map((r) => ({ Arn: mrkArn(r), Region: r }));
        return { KeyMetadata: m };
    };

    it("passes a primary and its replicas, each checked with its key ID in its own Region", async () => {
        let mocks: ReturnType<typeof healthyAws>["mocks"] | undefined;
        const results = await run((m) => (mocks = m));
        expect(results.filter((r) => r.status !== "PASS" && r.status !== "INFO")).to.deep.equal([]);
        const replicas = results.filter((r) => r.check === "multi-region-replicas");
        expect(replicas.map((r) => [r.scope, r.message])).to.deep.equal([
            [`${staging}/${region}`, `${mrkArn(region)} is the multi-Region primary, with its replicas in ${west}, ${eu}.`],
        ]);
        expect(at(results, "key-state", region).message).to.equal(`Multi-Region primary key ${mrkArn(region)} is Enabled.`);
        expect(at(results, "key-state", west).message).to.equal(`Replica key ${mrkArn(west)} is Enabled.`);
        expect(at(results, "key-rotation", region).message).to.equal("Rotation is on.");
        expect(at(results, "key-rotation", eu).message).to.equal(`Rotation is on, shared with the primary key ${mrkArn(region)}.`);
        for (const r of [region, west, eu]) {
            const kms = kmsIn(mocks!, r);
            // One DescribeKey per key serves key-state and, for the primary, multi-region-replicas.
            for (const command of [DescribeKeyCommand, GetKeyRotationStatusCommand, GetKeyPolicyCommand] as const)
                expect(
                    kms.commandCalls(command as typeof DescribeKeyCommand).map((c) => c.args[0].input.KeyId),
                    `${command.name} in ${r}`,
                ).to.deep.equal([mrkId]);
        }
    });

    it("checks a replica's key policy against the one built for its own Region", async () => {
        const results = await run((m) =>
            kmsIn(m, west)
                .on(GetKeyPolicyCommand)
                .resolves({ Policy: JSON.stringify(deployedKeyPolicy(staging, region)) }),
        );
        expect(results.filter((r) => r.status !== "PASS" && r.status !== "INFO").map((r) => [r.check, r.scope])).to.deep.equal([
            ["key-policy", `${staging}/${west}`],
        ]);
        expect(at(results, "key-policy", west).message).to.match(
            /^The key policy differs from the one the program deploys: statement AllowStagingDrsServiceRoleUseThroughEc2 differs; /,
        );
    });

    it("fails multi-region-replicas naming each Region whose replica AWS does not list, and the replica's own key-state", async () => {
        const results = await run((m) => {
            kmsIn(m, region)
                .on(DescribeKeyCommand)
                .resolves(primaryListing([west]));
            kmsIn(m, eu)
                .on(DescribeKeyCommand)
                .rejects(awsError("NotFoundException", `Key '${mrkArn(eu)}' does not exist`));
        });
        const r = at(results, "multi-region-replicas", region);
        expect([r.status, r.message]).to.deep.equal([
            "FAIL",
            `${mrkArn(region)} has no replica in ${eu} (${mrkArn(eu)}): the DRS replication template and the target policy there name a key that does not exist.`,
        ]);
        expect(r.fix).to.equal(
            "Run `pulumi up` on the staging stack to create it; a replica that was deleted must be recreated: `pulumi refresh` first, " +
                `as the stack still records it. Then re-align the servers in ${eu}: \`npm run -s align-servers -- --stack <stack>\` ` +
                "lists the changes, and with --apply makes them; " +
                'guide symptom "Replication failed: Unable to encrypt EBS volumes", guide symptom "Recovery failed: Unable to decrypt EBS snapshots".',
        );
        expect(r.details).to.deep.equal([{ accountId: staging, region: eu, keyArn: mrkArn(eu) }]);
        const state = at(results, "key-state", eu);
        expect([state.status, state.message]).to.deep.equal([
            "FAIL",
            `Replica key ${mrkArn(eu)} does not exist: the DRS replication template and the target policy there name a key that does not exist.`,
        ]);
        expect(state.fix).to.match(
            /^Run `pulumi up` on the staging stack to create it; .* Then re-align the servers in eu-west-1: `npm run -s align-servers/,
        );
        expect(at(results, "key-state", west).status).to.equal("PASS");

        const none = at(
            await run((m) => kmsIn(m, region).on(DescribeKeyCommand).resolves(primaryListing([]))),
            "multi-region-replicas",
            region,
        );
        expect(none.message).to.match(
            new RegExp(`^\\S+ has no replica in ${west}, ${eu} \\(${mrkArn(west)}, ${mrkArn(eu)}\\): .* in each Region name a key`),
        );
        expect(none.fix).to.match(/to create them; .* re-align the servers in us-west-2, eu-west-1:/);
    });

    it("fails key-state, with the replica's ARN and Region, for a disabled replica; the primary still lists it", async () => {
        const results = await run((m) =>
            kmsIn(m, west)
                .on(DescribeKeyCommand)
                .resolves({ KeyMetadata: multiRegionMetadata(places, [staging, west], { KeyState: "Disabled" }) }),
        );
        const r = at(results, "key-state", west);
        expect([r.status, r.message]).to.deep.equal(["FAIL", `Replica key ${mrkArn(west)} is Disabled.`]);
        expect(r.fix).to.match(new RegExp(`^aws kms enable-key --key-id ${mrkArn(west)} --region ${west}; `));
        expect(at(results, "multi-region-replicas", region).status).to.equal("PASS");
        expect(results.filter((x) => x.status !== "PASS" && x.status !== "INFO")).to.have.length(1);
    });

    it("fails when the primary is no longer the primary (UpdatePrimaryRegion), or not multi-Region at all", async () => {
        const promoted = multiRegionMetadata(places, [staging, region]);
        promoted.MultiRegionConfiguration = {
            MultiRegionKeyType: "REPLICA",
            PrimaryKey: { Arn: mrkArn(west), Region: west },
            ReplicaKeys: [region, eu].map((r) => ({ Arn: mrkArn(r), Region: r })),
        };
        const r = at(
            await run((m) => kmsIn(m, region).on(DescribeKeyCommand).resolves({ KeyMetadata: promoted })),
            "multi-region-replicas",
            region,
        );
        expect([r.status, r.message]).to.deep.equal([
            "FAIL",
            `${mrkArn(region)} is no longer the multi-Region primary: it is a replica of ${mrkArn(west)} (the primary Region was changed: UpdatePrimaryRegion). ` +
                `The staging stack manages the primary in ${region}, and the replicas from there.`,
        ]);
        expect(r.fix).to.equal(
            `Make ${region} the primary Region again: aws kms update-primary-region --key-id ${mrkId} --primary-region ${region} --region ${west}; ` +
                "then run `pulumi refresh` on the staging stack.",
        );

        // While AWS changes the primary Region, both keys may show as replicas: not a verdict yet.
        const updating = { ...promoted, KeyState: "Updating" } as KeyMetadata;
        const results = await run((m) => kmsIn(m, region).on(DescribeKeyCommand).resolves({ KeyMetadata: updating }));
        expect(at(results, "multi-region-replicas", region).unchecked?.kind).to.equal("changing");
        expect(at(results, "key-state", region).unchecked?.kind).to.equal("changing");

        // An adopted single-Region key exported as the primary.
        const single = at(
            await run((m) =>
                kmsIn(m, region)
                    .on(DescribeKeyCommand)
                    .resolves({ KeyMetadata: { KeyId: mrkId, KeyState: "Enabled", MultiRegion: false } }),
            ),
            "multi-region-replicas",
            region,
        );
        expect([single.status, single.message]).to.deep.equal([
            "FAIL",
            `${mrkArn(region)} is not a multi-Region key, but the stack exports it as the multi-Region primary.`,
        ]);
    });

    it("says a replica's rotation is its primary's, and where to fix it", async () => {
        const results = await run((m) => kmsIn(m, eu).on(GetKeyRotationStatusCommand).resolves({ KeyRotationEnabled: false }));
        const r = at(results, "key-rotation", eu);
        expect([r.status, r.message, r.fix]).to.deep.equal([
            "FAIL",
            `Rotation is off, but the config says on (drift), shared with the primary key ${mrkArn(region)}.`,
            `Run \`pulumi up\` on the staging stack: it sets rotation on the primary key ${mrkArn(region)}, and every replica follows it.`,
        ]);
    });

    it("fails a primary scheduled for deletion behind its replicas, with the Region in the fix", async () => {
        const results = await run((m) =>
            kmsIn(m, region)
                .on(DescribeKeyCommand)
                .resolves({ KeyMetadata: multiRegionMetadata(places, [staging, region], { KeyState: "PendingReplicaDeletion" }) }),
        );
        const r = at(results, "key-state", region);
        expect([r.status, r.message]).to.deep.equal([
            "FAIL",
            `Multi-Region primary key ${mrkArn(region)} is scheduled for deletion once its replicas are deleted (PendingReplicaDeletion): every snapshot it encrypted becomes unrecoverable then.`,
        ]);
        expect(r.fix).to.match(new RegExp(`^aws kms cancel-key-deletion --key-id ${mrkArn(region)} --region ${region}, then enable-key;`));
    });

    it("checks an adopted key by the ID and ARN the stack exports", async () => {
        const adopted = "0987fedc-ba98-7654-3210-fedcba987654";
        const { access, mocks } = healthyAws([[staging, region]], { id: adopted });
        const results = await verify(
            { settings, outputs: { ...outputs, stagingKeys: [keyExport([staging, region], undefined, adopted)] } },
            access,
        );
        expect(results.filter((r) => r.status !== "PASS" && r.status !== "INFO")).to.deep.equal([]);
        expect(byCheck(results)["key-state"].message).to.equal(`Key ${keyArnIn(staging, region, adopted)} is Enabled.`);
        for (const command of [DescribeKeyCommand, GetKeyRotationStatusCommand, GetKeyPolicyCommand] as const)
            expect(mocks.stagingKms.commandCalls(command as typeof DescribeKeyCommand).map((c) => c.args[0].input.KeyId)).to.deep.equal([
                adopted,
            ]);
        expect(mocks.targetKms.commandCalls(DescribeKeyCommand).map((c) => c.args[0].input.KeyId)).to.deep.equal([
            keyArnIn(staging, region, adopted),
        ]);
        expect(results.some((r) => r.check === "multi-region-replicas")).to.equal(false);
    });
});

describe("verify --help", () => {
    it("names every check verify runs, the healthy states, the permissions and the exit codes", async () => {
        const help = verifyHelp();
        const { access } = healthyAws();
        const withRoles = parseConfig({
            target: { accountId: target, keyUserRoleNames: ["DrsRecoveryOperator"] },
            stagingAccounts: [{ accountId: staging, region }],
        }).settings;
        const ran = new Set((await verify({ settings: withRoles, outputs }, access)).map((r) => r.check));
        // The roles in other accounts run only for EC2 source accounts and IN_AWS right-sizing.
        const withSources = healthyAws([[staging, region]], { sourceAccounts: [sourceAccount] });
        const sourced = parseConfig({
            target: { accountId: target, launch: [{ region, targetInstanceTypeRightSizingMethod: "IN_AWS" }] },
            stagingAccounts: [{ accountId: staging, region, ec2SourceAccounts: [{ accountId: sourceAccount }] }],
        }).settings;
        for (const r of await verify({ settings: sourced, outputs }, withSources.access)) ran.add(r.check);
        // multi-region-replicas runs only for a multi-Region primary.
        const places: Place[] = [
            [staging, region],
            [staging, "us-west-2"],
        ];
        const multiRegion = healthyAws(places, { multiRegion: true });
        const mrkOutputs = outputsFor(places, { multiRegion: true });
        for (const r of await verify({ settings: settingsFor(places), outputs: mrkOutputs }, multiRegion.access)) ran.add(r.check);
        // The way back's checks run only with a failback setting: to an origin with source networks, and on-premises.
        for (const failback of [{ accountId: sourceAccount, networkReplication: true }, { to: "on-premises" }])
            for (const r of await verify({ settings: failbackSettings(failback), outputs }, failbackAws().access)) ran.add(r.check);
        expect([...ran].sort()).to.deep.equal(checkCatalog.map(([id]) => id).sort());
        for (const id of ran) expect(help).to.match(new RegExp(`^  ${id} `, "m"));
        expect(help).to.include("Once per multi-Region primary key (key.multiRegion):\n  multi-region-replicas ");
        expect(help).to.include("Data replication states treated as healthy: CONTINUOUS, INITIAL_SYNC, RESCAN.");
        expect(help).to.include("--outputs (`pulumi stack output --json`, a file or - for stdin)");
        for (const permission of [
            "kms:GetKeyPolicy",
            "kms:GetKeyRotationStatus",
            "iam:GetRole",
            "drs:GetReplicationConfiguration",
            "drs:DescribeSourceServers",
            "drs:DescribeReplicationConfigurationTemplates",
            "kms:Decrypt (called to be refused",
            "iam:ListAttachedRolePolicies",
        ])
            expect(help).to.include(permission);
    });
});

describe("verify's credentials per account", () => {
    it("assumes the role the config names, and uses it for that account's clients", async () => {
        const sts = new STSClient({ region });
        const stsMock = mockClient(sts);
        stsMock
            .on(AssumeRoleCommand)
            .resolves({ Credentials: { AccessKeyId: "AKIA", SecretAccessKey: "s", SessionToken: "t", Expiration: new Date() } });
        const access = new AssumedRoleAccess(new Map([[staging, `arn:aws:iam::${staging}:role/Deploy`]]), "verify", sts);
        const kms = await access.kms(staging, region);
        expect(await kms.config.credentials()).to.include({ accessKeyId: "AKIA", sessionToken: "t" });
        expect(
            stsMock.commandCalls(AssumeRoleCommand).map((c) => [c.args[0].input.RoleArn, c.args[0].input.RoleSessionName]),
        ).to.deep.equal([[`arn:aws:iam::${staging}:role/Deploy`, "drs-cross-account-kms-verify"]]);
        await access.drs(staging, region);
        expect(stsMock.commandCalls(AssumeRoleCommand)).to.have.length(1);
    });

    it("refuses ambient credentials of another account", async () => {
        const sts = new STSClient({ region });
        mockClient(sts).on(GetCallerIdentityCommand).resolves({ Account: "999988887777" });
        const access = new AssumedRoleAccess(new Map([[target, undefined]]), "verify", sts);
        let error: Error | undefined;
        try {
            await access.kms(target, region);
        } catch (err) {
            error = err as Error;
        }
        expect(error?.message).to.equal(
            `cannot reach account ${target}: the current credentials are for account 999988887777, and the config names no roleArn for ${target}`,
        );
    });
});

describe("verify's AWS clients: Region, partition, the SDK's retry, and one up-front check", () => {
    const assumed = () => {
        const sts = new STSClient({ region });
        const stsMock = mockClient(sts);
        stsMock
            .on(AssumeRoleCommand)
            .resolves({ Credentials: { AccessKeyId: "AKIA", SecretAccessKey: "s", SessionToken: "t", Expiration: new Date() } });
        return { sts, stsMock };
    };

    it("calls each account in its entry's Region; IAM in its partition's Region", async () => {
        const { sts } = assumed();
        const access = new AssumedRoleAccess(new Map([[staging, `arn:aws:iam::${staging}:role/Deploy`]]), "verify", sts);
        for (const [r, iamRegion] of [
            ["eu-west-1", "us-east-1"],
            ["cn-northwest-1", "cn-north-1"],
            ["us-gov-east-1", "us-gov-west-1"],
        ]) {
            expect(await (await access.kms(staging, r)).config.region()).to.equal(r);
            expect(await (await access.drs(staging, r)).config.region()).to.equal(r);
            expect(await (await access.iam(staging, r)).config.region(), r).to.equal(iamRegion);
        }
        expect(iamRegions).to.deep.equal({ aws: "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1" });
    });

    it("uses the SDK's adaptive retry, with the attempts of the old hand-written loop", async () => {
        const { sts } = assumed();
        const kms = await new AssumedRoleAccess(new Map([[staging, `arn:aws:iam::${staging}:role/Deploy`]]), "verify", sts).kms(
            staging,
            region,
        );
        expect([((await kms.config.retryStrategy()) as { mode?: string }).mode, await kms.config.maxAttempts()]).to.deep.equal([
            "adaptive",
            maxAttempts,
        ]);
    });

    it("retries a throttled call through the SDK (no wait in tests), then answers; gives up after maxAttempts", async () => {
        const { sts } = assumed();
        const statuses: number[] = [];
        const answers = [throttled(), throttled(), ok({ KeyMetadata: { KeyId: keyId, KeyState: "Enabled" } })];
        const handler = {
            handle: async () => {
                const response = answers.shift() ?? throttled();
                statuses.push(response.statusCode);
                return { response };
            },
        };
        const options = { requestHandler: handler, retryStrategy: new ConfiguredRetryStrategy(maxAttempts, 0) };
        const access = new AssumedRoleAccess(new Map([[staging, `arn:aws:iam::${staging}:role/Deploy`]]), "verify", sts, options);
        const kms = await access.kms(staging, region);
        const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
        expect([KeyMetadata?.KeyState, statuses]).to.deep.equal(["Enabled", [400, 400, 200]]);

        statuses.length = 0;
        let error: Error | undefined;
        try {
            await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
        } catch (err) {
            error = err as Error;
        }
        expect([error?.name, statuses.length]).to.deep.equal(["ThrottlingException", maxAttempts]);
    });

    it("checks the credentials once, up front, and names the real cause (not a missing Region, not roleArn)", async () => {
        const sts = new STSClient({ region });
        const stsMock = mockClient(sts);
        stsMock.on(GetCallerIdentityCommand).rejects(awsError("CredentialsProviderError", "Could not load credentials from any providers"));
        const access = new AssumedRoleAccess(new Map([[staging, undefined]]), "verify", sts);
        let error: Error | undefined;
        try {
            await access.check([region, "us-west-2", "eu-west-1"]);
        } catch (err) {
            error = err as Error;
        }
        expect(error).to.be.instanceOf(NoAwsAccess);
        expect(error?.message).to.match(/^No AWS credentials found \(environment, shared config and credentials files, SSO/);
        expect(error?.message).not.to.match(/roleArn|Region is missing/);
        expect(stsMock.commandCalls(GetCallerIdentityCommand)).to.have.length(1);
    });

    it("verify exits 2 with that one line before any check when the credentials do not work", async () => {
        const sts = new STSClient({ region });
        mockClient(sts)
            .on(GetCallerIdentityCommand)
            .rejects(awsError("ExpiredTokenException", "The security token included in the request is expired"));
        let out = "";
        let err = "";
        const outputsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "drs-verify-")), "outputs.json");
        fs.writeFileSync(outputsFile, JSON.stringify(outputs));
        const code = await run(["verify", "-s", "staging", "--outputs", outputsFile], {
            io: { out: (t) => void (out += t), err: (t) => void (err += t) },
            workspace: null,
            access: (roleArns, command) => new AssumedRoleAccess(roleArns, command, sts),
        });
        expect([code, out]).to.deep.equal([2, ""]);
        expect(err).to.equal(
            "error: The AWS credentials have expired: refresh them (aws sso login, or new session credentials) and run again. (ExpiredTokenException: The security token included in the request is expired)\n",
        );
    });

    it("names the cause when the current credentials cannot be checked: no network", () => {
        const offline = Object.assign(new Error("getaddrinfo ENOTFOUND sts.us-east-1.amazonaws.com"), { name: "Error", code: "ENOTFOUND" });
        expect(describeAccessFailure(offline, "us-east-1")).to.equal(
            "Cannot reach AWS STS in us-east-1 (ENOTFOUND): check the network, proxy or VPC endpoint.",
        );
    });
});

/** A KMS (JSON protocol) answer, as the SDK's HTTP handler returns it. */
function response(statusCode: number, body: object) {
    return {
        statusCode,
        headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "req" },
        body: Readable.from([Buffer.from(JSON.stringify(body))]),
    };
}
const throttled = () => response(400, { __type: "ThrottlingException", message: "Rate exceeded" });
const ok = (body: object) => response(200, body);
