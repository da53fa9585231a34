import { DescribeReplicationConfigurationTemplatesCommand, DescribeSourceServersCommand, DrsClient } from "@aws-sdk/client-drs";
import { GetRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { DecryptCommand, DescribeKeyCommand, GetKeyPolicyCommand, GetKeyRotationStatusCommand, KMSClient } from "@aws-sdk/client-kms";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { parseConfig } from "../components/config";
import { buildKeyPolicy, buildStagingRoleTrustPolicy } from "../components/policies";
import { AssumedRoleAccess, AwsAccess, UnreachableAccount, setRetrySleep, withRetry } from "../tools/awsAccess";
import { CannotVerify, CheckResult, verify } from "../tools/verify";

const staging = "444455556666";
const target = "111122223333";
const region = "us-east-1";
const keyId = "1234abcd-12ab-34cd-56ef-1234567890ab";
const keyArn = `arn:aws:kms:${region}:${staging}:key/${keyId}`;
const roleArn = `arn:aws:iam::${staging}:role/service-role/DRSStagingAccountRole_${target}`;
const roleId = "AROAEXAMPLEROLEID1234";
const templateId = "rct-0123456789abcdef0";
const outputs = {
    targetAccountId: target,
    targetAccess: "ebs-shared-snapshots",
    stagingKeys: [
        {
            accountId: staging,
            region,
            keyId,
            keyArn,
            aliasName: "alias/drs-cross-account-ebs",
            stagingRoleArn: roleArn,
            replicationTemplateId: templateId,
        },
    ],
};
const { settings } = parseConfig({ target: { accountId: target }, stagingAccounts: [{ accountId: staging, region }] });

/** The key policy the program deploys for this key. */
const deployedKeyPolicy = () =>
    buildKeyPolicy({
        stagingAccountId: staging,
        targetAccountId: target,
        region,
        stagingRoleArn: roleArn,
        stagingRoleUniqueId: roleId,
        targetAccess: "ebs-shared-snapshots",
    });

/** GetRole's answer for the staging role, healthy unless told otherwise. */
const stagingRole = (changes: { RoleId?: string; trust?: object } = {}) => ({
    Role: {
        RoleName: `DRSStagingAccountRole_${target}`,
        Path: "/service-role/",
        RoleId: changes.RoleId ?? roleId,
        Arn: roleArn,
        CreateDate: new Date(),
        AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(changes.trust ?? buildStagingRoleTrustPolicy("aws", target))),
    },
});

const awsError = (name: string, message = name) => Object.assign(new Error(message), { name });

/** One mocked client per account and service, set up as a healthy deployment. */
function healthyAws() {
    const clients = {
        stagingKms: new KMSClient({ region }),
        stagingIam: new IAMClient({ region }),
        stagingDrs: new DrsClient({ region }),
        targetKms: new KMSClient({ region }),
        targetDrs: new DrsClient({ region }),
    };
    const mocks = {
        stagingKms: mockClient(clients.stagingKms),
        stagingIam: mockClient(clients.stagingIam),
        stagingDrs: mockClient(clients.stagingDrs),
        targetKms: mockClient(clients.targetKms),
        targetDrs: mockClient(clients.targetDrs),
    };
    const keyPolicy = deployedKeyPolicy();
    mocks.stagingKms.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: keyId, KeyState: "Enabled" } });
    mocks.stagingKms.on(GetKeyRotationStatusCommand).resolves({ KeyRotationEnabled: true });
    mocks.stagingKms.on(GetKeyPolicyCommand).resolves({ Policy: JSON.stringify(keyPolicy) });
    mocks.stagingIam.on(GetRoleCommand).resolves(stagingRole());
    mocks.stagingDrs.on(DescribeReplicationConfigurationTemplatesCommand).resolves({
        items: [{ replicationConfigurationTemplateID: templateId, ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: keyArn }],
    });
    mocks.targetKms.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: keyId, KeyState: "Enabled" } });
    mocks.targetKms
        .on(DecryptCommand)
        .rejects(
            awsError("AccessDeniedException", `User: arn:aws:sts::${target}:assumed-role/R is not authorized to perform: kms:Decrypt`),
        );
    mocks.targetDrs.on(DescribeReplicationConfigurationTemplatesCommand).resolves({ items: [] });
    mocks.targetDrs
        .on(DescribeSourceServersCommand, { filters: { stagingAccountIDs: [staging] }, nextToken: undefined })
        .resolves({ items: Array(100).fill({}), nextToken: "page-2" })
        .on(DescribeSourceServersCommand, { filters: { stagingAccountIDs: [staging] }, nextToken: "page-2" })
        .resolves({ items: Array(42).fill({}) });
    const access: AwsAccess = {
        kms: async (account) => (account === staging ? clients.stagingKms : clients.targetKms),
        drs: async (account) => (account === staging ? clients.stagingDrs : clients.targetDrs),
        iam: async () => clients.stagingIam,
    };
    return { access, mocks };
}

const byCheck = (results: CheckResult[]) => Object.fromEntries(results.map((r) => [r.check, r]));

describe("verify", () => {
    before(() => setRetrySleep(async () => undefined));

    it("passes every check on a healthy deployment", async () => {
        const { access } = healthyAws();
        const results = await verify({ settings, outputs }, access);
        expect(results.map((r) => [r.check, r.status])).to.deep.equal([
            ["key-state", "PASS"],
            ["key-rotation", "PASS"],
            ["key-policy", "PASS"],
            ["staging-role", "PASS"],
            ["replication-template", "PASS"],
            ["target-describe-key", "PASS"],
            ["target-direct-decrypt-denied", "PASS"],
            ["target-drs-initialised", "PASS"],
            ["extended-source-servers", "PASS"],
        ]);
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
            expect([r.status, r.message]).to.deep.equal(["FAIL", `DRS is not initialised in ${target} in ${region}.`]);
        });
    });

    it("warns when no server is extended yet, and near the 300-server capacity", async () => {
        for (const [count, pattern] of [
            [0, /^No extended source servers from 444455556666 in the target yet \(0 of 300\)\.$/],
            [280, /^280 of 300 replicating servers of 444455556666 are extended: near the per-account limit\.$/],
        ] as const) {
            const { access, mocks } = healthyAws();
            mocks.targetDrs.on(DescribeSourceServersCommand).resolves({ items: Array(count).fill({}) });
            const r = byCheck(await verify({ settings, outputs }, access))["extended-source-servers"];
            expect(r.status).to.equal("WARN");
            expect(r.message).to.match(pattern);
        }
    });

    it("retries throttled calls, and says so when throttling never ends", async () => {
        const { access, mocks } = healthyAws();
        mocks.stagingKms
            .on(DescribeKeyCommand)
            .rejectsOnce(awsError("ThrottlingException"))
            .rejectsOnce(awsError("ThrottlingException"))
            .resolves({ KeyMetadata: { KeyId: keyId, KeyState: "Enabled" } });
        expect(byCheck(await verify({ settings, outputs }, access))["key-state"].status).to.equal("PASS");
        expect(mocks.stagingKms.commandCalls(DescribeKeyCommand)).to.have.length(3);

        mocks.stagingKms.resetHistory();
        mocks.stagingKms.on(GetKeyRotationStatusCommand).rejects(awsError("ThrottlingException", "Rate exceeded"));
        const r = byCheck(await verify({ settings, outputs }, access))["key-rotation"];
        expect([r.status, r.message]).to.deep.equal(["WARN", "Not verified: ThrottlingException: Rate exceeded"]);
        expect(mocks.stagingKms.commandCalls(GetKeyRotationStatusCommand)).to.have.length(6);
    });

    it("backs off exponentially between retries", async () => {
        const waits: number[] = [];
        let calls = 0;
        const result = await withRetry(
            async () => {
                if (++calls < 4) throw awsError("TooManyRequestsException");
                return "done";
            },
            { sleep: async (ms) => void waits.push(ms) },
        );
        expect([result, waits]).to.deep.equal(["done", [200, 400, 800]]);
    });

    it("warns, not fails, when the credentials may not read what a check needs", async () => {
        const { access, mocks } = healthyAws();
        mocks.stagingKms.on(GetKeyPolicyCommand).rejects(awsError("AccessDeniedException", "not authorized to perform: kms:GetKeyPolicy"));
        const r = byCheck(await verify({ settings, outputs }, access))["key-policy"];
        expect(r.status).to.equal("WARN");
        expect(r.message).to.equal(
            `Not verified: the credentials for ${staging} may not read this (not authorized to perform: kms:GetKeyPolicy).`,
        );
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
        expect(results.filter((r) => r.status === "WARN").map((r) => r.check)).to.deep.equal([
            "target-describe-key",
            "target-direct-decrypt-denied",
            "target-drs-initialised",
            "extended-source-servers",
        ]);
        expect(byCheck(results)["target-describe-key"].message).to.equal(`Not verified: cannot reach account ${target}: no role.`);
    });

    it("cannot start without the stack's keys", async () => {
        const { access } = healthyAws();
        let error: Error | undefined;
        try {
            await verify({ settings, outputs: { targetAccountId: target } }, access);
        } catch (err) {
            error = err as Error;
        }
        expect(error).to.be.instanceOf(CannotVerify);
    });
});

describe("verify's credentials per account", () => {
    it("assumes the role the config names, and uses it for that account's clients", async () => {
        const sts = new STSClient({ region });
        const stsMock = mockClient(sts);
        stsMock
            .on(AssumeRoleCommand)
            .resolves({ Credentials: { AccessKeyId: "AKIA", SecretAccessKey: "s", SessionToken: "t", Expiration: new Date() } });
        const access = new AssumedRoleAccess(new Map([[staging, `arn:aws:iam::${staging}:role/Deploy`]]), sts);
        const kms = await access.kms(staging, region);
        expect(await kms.config.credentials()).to.include({ accessKeyId: "AKIA", sessionToken: "t" });
        expect(stsMock.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input.RoleArn)).to.deep.equal([
            `arn:aws:iam::${staging}:role/Deploy`,
        ]);
        await access.drs(staging, region);
        expect(stsMock.commandCalls(AssumeRoleCommand)).to.have.length(1);
    });

    it("refuses ambient credentials of another account", async () => {
        const sts = new STSClient({ region });
        mockClient(sts).on(GetCallerIdentityCommand).resolves({ Account: "999988887777" });
        const access = new AssumedRoleAccess(new Map([[target, undefined]]), sts);
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
