import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { fleetEntries } from "../support/fleet";
import { RecordingMocks, Registration, byType, runProgram, stackFileConfig } from "../support/mocks";

const target = "111122223333";
const stagingA = "444455556666";
const stagingB = "555566667777";
const subnet = "subnet-0123456789abcdef0";
const types = {
    provider: "pulumi:providers:aws",
    key: "aws:kms/key:Key",
    alias: "aws:kms/alias:Alias",
    role: "aws:iam/role:Role",
    attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    policy: "aws:iam/policy:Policy",
    template: "aws:drs/replicationConfigurationTemplate:ReplicationConfigurationTemplate",
    stackReference: "pulumi:pulumi:StackReference",
};

/** The DRS staging roles: the alerts' forwarding role (a key outside us-east-1) is not one. */
const stagingRoles = (mocks: RecordingMocks) => byType(mocks, types.role).filter((r) => r.name.startsWith("drs-staging-role-"));

/** Two staging accounts, one of them in two Regions, into one target: the fan-in case. */
const fanIn = {
    deploy: "all",
    target: { accountId: target, keyUserRoleNames: ["DrsRecoveryOperator", "arn:aws:iam::111122223333:role/drills/DrsDrillRunner"] },
    stagingAccounts: [
        {
            accountId: stagingA,
            region: "us-east-1",
            roleArn: `arn:aws:iam::${stagingA}:role/Deploy`,
            replication: { stagingAreaSubnetId: subnet },
        },
        {
            accountId: stagingA,
            region: "us-west-2",
            roleArn: `arn:aws:iam::${stagingA}:role/Deploy`,
            replication: { stagingAreaSubnetId: subnet },
        },
        // An SSO user's profile for the second account: one set of credentials could not reach both.
        {
            accountId: stagingB,
            region: "us-east-1",
            profile: "staging-b",
            replication: { stagingAreaSubnetId: subnet, createPublicIp: true },
        },
    ],
};

const policyOf = (r: Registration) => JSON.parse(r.inputs.policy);
/** The DRS keys, without the keys that encrypt the alert topics. */
const drsKeys = (mocks: Parameters<typeof byType>[0]) => byType(mocks, types.key).filter((k) => !k.name.endsWith("-topic-key"));

describe("program: one set of credentials for several accounts", () => {
    const withoutRoles = (entry: Record<string, unknown>) => ({ ...entry, roleArn: undefined, profile: undefined });
    const noted = (run: Awaited<ReturnType<typeof runProgram>>) => run.warnings.filter((w) => w.includes("name no roleArn or profile"));

    it("warns once, naming the accounts and the fix, when two staging accounts (or a staging account and the target) have no roleArn or profile", async () => {
        const run = await runProgram({ ...fanIn, deploy: "staging", stagingAccounts: fanIn.stagingAccounts.map(withoutRoles) });
        expect(noted(run)).to.deep.equal([
            `stagingAccounts[0] (${stagingA}) and stagingAccounts[2] (${stagingB}) name no roleArn or profile: their providers all use the current credentials, ` +
                "which are one account's, and each provider is pinned to its account, so at most one of them deploys. Give each account a role to assume " +
                "(stagingAccounts[].roleArn, target.roleArn) or a profile of your AWS config (stagingAccounts[].profile, target.profile, such as an IAM Identity Center one).",
        ]);
        // The second account signs in with its profile; the first and the target are left to the one set.
        const both = await runProgram({
            ...fanIn,
            stagingAccounts: fanIn.stagingAccounts.map((e) => (e.accountId === stagingA ? withoutRoles(e) : e)),
        });
        expect(noted(both)).to.have.length(1);
        expect(noted(both)[0]).to.match(
            new RegExp(`^stagingAccounts\\[0\\] \\(${stagingA}\\) and target \\(${target}\\) name no roleArn or profile`),
        );
    });

    it("says nothing when every account but one has a roleArn or a profile, and passes both to the provider", async () => {
        const run = await runProgram({
            ...fanIn,
            target: { ...fanIn.target, profile: "target-sso", roleArn: `arn:aws:iam::${target}:role/Deploy` },
        });
        expect(noted(run)).to.deep.equal([]);
        const provider = byType(run.mocks, types.provider).find((p) => p.name === `aws-target-${target}`)!;
        expect([provider.inputs.profile, JSON.parse(provider.inputs.assumeRoles)[0].roleArn]).to.deep.equal([
            "target-sso",
            `arn:aws:iam::${target}:role/Deploy`,
        ]);
    });
});

describe("program, deploy: all (fan-in of two staging accounts)", () => {
    let registrations: Registration[];
    let outputs: Record<string, any>;
    let run: Awaited<ReturnType<typeof runProgram>>;

    before(async () => {
        run = await runProgram(fanIn);
        registrations = run.mocks.registrations;
        outputs = run.outputs;
    });

    it("builds one explicit provider per account, pinned to it, assuming its role when given", () => {
        const providers = byType(run.mocks, types.provider);
        expect(providers.map((p) => [p.name, JSON.parse(p.inputs.allowedAccountIds)])).to.deep.equal([
            [`aws-staging-${stagingA}`, [stagingA]],
            [`aws-staging-${stagingB}`, [stagingB]],
            [`aws-target-${target}`, [target]],
        ]);
        expect(JSON.parse(providers[0].inputs.assumeRoles)).to.deep.equal([
            { roleArn: `arn:aws:iam::${stagingA}:role/Deploy`, sessionName: "drs-cross-account-kms" },
        ]);
        expect(providers[1].inputs.assumeRoles).to.equal(undefined);
        expect(providers.map((p) => p.inputs.profile)).to.deep.equal([undefined, "staging-b", undefined]);
        expect(JSON.parse(providers[0].inputs.defaultTags)).to.deep.equal({
            tags: { ManagedBy: "pulumi", Project: "drs-cross-account-kms" },
        });
    });

    it("creates every resource with the provider of the account it belongs to", () => {
        const accountOf = (type: string) => byType(run.mocks, type).map((r) => r.account);
        expect(stagingRoles(run.mocks).map((r) => r.account)).to.deep.equal([stagingA, stagingB]);
        // The us-west-2 key's alerts forward IAM's events from us-east-1, with a role of its account.
        expect(accountOf(types.role)).to.have.members([stagingA, stagingA, stagingB]);
        expect(drsKeys(run.mocks).map((r) => r.account)).to.deep.equal([stagingA, stagingA, stagingB]);
        expect(accountOf(types.alias)).to.deep.equal([stagingA, stagingA, stagingB]);
        expect(accountOf(types.template)).to.deep.equal([stagingA, stagingA, stagingB]);
        expect(accountOf(types.policy)).to.deep.equal([target]);
        const attachments = byType(run.mocks, types.attachment).map((r) => [r.account, r.inputs.role]);
        expect(attachments).to.deep.include.members([
            [target, "DrsRecoveryOperator"],
            [target, "DrsDrillRunner"],
        ]);
        expect(registrations.filter((r) => r.custom && r.type !== types.provider && !r.provider)).to.deep.equal([]);
    });

    it("puts each key, alias and template in its own Region", () => {
        expect(drsKeys(run.mocks).map((r) => r.inputs.region)).to.deep.equal(["us-east-1", "us-west-2", "us-east-1"]);
        expect(byType(run.mocks, types.template).map((r) => r.inputs.region)).to.deep.equal(["us-east-1", "us-west-2", "us-east-1"]);
    });

    it("creates the staging role once per account, with DRS's name, path, trust and managed policy, protected", () => {
        const roles = stagingRoles(run.mocks);
        for (const role of roles) {
            expect(role.inputs.name).to.equal(`DRSStagingAccountRole_${target}`);
            expect(role.inputs.path).to.equal("/service-role/");
            expect(JSON.parse(role.inputs.assumeRolePolicy).Statement[0].Condition.StringEquals).to.deep.equal({
                "sts:SourceIdentity": target,
                "aws:SourceAccount": target,
            });
            expect(role.protect).to.equal(true);
        }
        const managed = byType(run.mocks, types.attachment).filter((r) => r.inputs.role === `DRSStagingAccountRole_${target}`);
        expect(managed.map((r) => [r.account, r.inputs.policyArn])).to.deep.equal([
            [stagingA, "arn:aws:iam::aws:policy/service-role/AWSElasticDisasterRecoveryStagingAccountPolicy_v2"],
            [stagingB, "arn:aws:iam::aws:policy/service-role/AWSElasticDisasterRecoveryStagingAccountPolicy_v2"],
        ]);
    });

    it("creates protected keys with rotation, the 30-day window, tags and the key policy naming the created role", () => {
        const keys = drsKeys(run.mocks);
        const roles = stagingRoles(run.mocks);
        for (const [i, key] of keys.entries()) {
            expect(key.protect).to.equal(true);
            expect(key.inputs).to.include({
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                keyUsage: "ENCRYPT_DECRYPT",
                customerMasterKeySpec: "SYMMETRIC_DEFAULT",
            });
            expect(key.inputs.tags).to.deep.equal({ Purpose: "DRS-Cross-Account", TargetAccount: target });
            const policy = policyOf(key);
            const role = roles[i < 2 ? 0 : 1];
            expect(policy.Id).to.equal(`drs-cross-account-key-policy-${role.state.uniqueId}`);
            expect(policy.Statement.find((s: any) => s.Sid === "AllowDrsStagingAccountRoleReEncryptThroughEc2").Principal.AWS).to.equal(
                role.state.arn,
            );
            expect(policy.Statement[1].Condition.StringEquals["kms:ViaService"]).to.equal(`ec2.${key.inputs.region}.amazonaws.com`);
        }
        expect(byType(run.mocks, types.alias).map((a) => a.inputs.name)).to.deep.equal(Array(3).fill("alias/drs-cross-account-ebs"));
    });

    it("passes each key's ARN to its template, with CUSTOM encryption and the guide's settings", () => {
        const keys = drsKeys(run.mocks);
        const templates = byType(run.mocks, types.template);
        templates.forEach((template, i) => expect(template.inputs.ebsEncryptionKeyArn).to.equal(keys[i].state.arn));
        expect(templates[0].inputs).to.deep.include({
            ebsEncryption: "CUSTOM",
            stagingAreaSubnetId: subnet,
            associateDefaultSecurityGroup: true,
            bandwidthThrottling: 0,
            createPublicIp: false,
            dataPlaneRouting: "PRIVATE_IP",
            defaultLargeStagingDiskType: "GP3",
            replicationServerInstanceType: "t3.small",
            useDedicatedReplicationServer: false,
        });
        expect(templates[2].inputs.createPublicIp).to.equal(true);
        expect(templates[0].inputs.pitPolicies).to.deep.equal([
            { ruleId: 1, enabled: true, units: "MINUTE", interval: 10, retentionDuration: 60 },
            { ruleId: 2, enabled: true, units: "HOUR", interval: 1, retentionDuration: 24 },
            { ruleId: 3, enabled: true, units: "DAY", interval: 1, retentionDuration: 7 },
        ]);
        expect(templates.map((t) => t.importId)).to.deep.equal([undefined, undefined, undefined]);
        // Created templates are kept in AWS too when they leave the stack: they are DRS's defaults for new servers.
        expect(templates.map((t) => t.retainOnDelete)).to.deep.equal([true, true, true]);
    });

    it("passes every key ARN to the target policy, grouped by Region", () => {
        const keyArns = drsKeys(run.mocks).map((k) => k.state.arn as string);
        const policy = byType(run.mocks, types.policy)[0];
        expect(policy.inputs.name).to.equal("DrsCrossAccountKmsKeyUse");
        const doc = policyOf(policy);
        expect(doc.Statement[0].Resource).to.have.members(keyArns);
        const east = doc.Statement.find((s: any) => s.Sid === "UseDrsKeysThroughEc2UsEast1");
        expect(east.Resource).to.have.members(keyArns.filter((arn) => arn.includes(":us-east-1:")));
        const policyArn = policy.state.arn;
        expect(
            byType(run.mocks, types.attachment)
                .filter((a) => a.account === target)
                .map((a) => a.inputs.policyArn),
        ).to.deep.equal([policyArn, policyArn]);
    });

    it("exports each key, its alias, role and template, and the target policy", () => {
        const keys = drsKeys(run.mocks);
        const templates = byType(run.mocks, types.template);
        expect(outputs.deploy).to.equal("all");
        expect(outputs.targetAccountId).to.equal(target);
        expect(outputs.targetAccess).to.equal("documented");
        expect(outputs.stagingKeys).to.deep.equal(
            fanIn.stagingAccounts.map((entry, i) => ({
                accountId: entry.accountId,
                region: entry.region,
                keyId: keys[i].state.keyId,
                keyArn: keys[i].state.arn,
                aliasName: "alias/drs-cross-account-ebs",
                stagingRoleArn: `arn:aws:iam::${entry.accountId}:role/service-role/DRSStagingAccountRole_${target}`,
                replicationTemplateId: templates[i].id,
                alertTopicArn: byType(run.mocks, "aws:sns/topic:Topic").find(
                    (t) => t.name === `drs-${entry.accountId}-${entry.region}-alerts-topic`,
                )!.state.arn,
            })),
        );
        expect(outputs.stagingKeys[0].replicationTemplateId).to.match(/^rct-[0-9a-f]{17}$/);
        expect(outputs.targetKeyUsePolicyArns).to.deep.equal([`arn:aws:iam::${target}:policy/DrsCrossAccountKmsKeyUse`]);
        expect(outputs.targetKeyUserRoleNames).to.deep.equal(["DrsRecoveryOperator", "DrsDrillRunner"]);
        expect(run.warnings).to.deep.equal([]);
    });
});

describe("program options", () => {
    it("adopts an existing template: import, kept on delete, warned that it changes servers added later only", async () => {
        const run = await runProgram({
            target: { accountId: target, keyUserRoleNames: ["R"] },
            stagingAccounts: [
                {
                    accountId: stagingA,
                    region: "us-east-1",
                    replication: { stagingAreaSubnetId: subnet, importTemplateId: "rct-0123456789abcdef0" },
                },
            ],
        });
        const [template] = byType(run.mocks, types.template);
        expect(template.importId).to.equal("rct-0123456789abcdef0");
        expect(template.retainOnDelete).to.equal(true);
        expect(run.outputs.stagingKeys).to.have.nested.property("[0].replicationTemplateId", "rct-0123456789abcdef0");
        expect(run.warnings.join("\n")).to.match(
            /for servers added to 444455556666\/us-east-1 later.*keep their own settings.*align-servers/,
        );
        expect(run.warnings.join("\n")).not.to.match(/resync/);
    });

    it("keeps a template in AWS after the config edit that drops importTemplateId, and only opts out with retainOnDelete: false", async () => {
        const config = (replication: Record<string, unknown>) => ({
            target: { accountId: target, keyUserRoleNames: ["R"] },
            stagingAccounts: [{ accountId: stagingA, region: "us-east-1", replication: { stagingAreaSubnetId: subnet, ...replication } }],
        });
        const retained = async (replication: Record<string, unknown>) => {
            const run = await runProgram(config(replication));
            return { retainOnDelete: byType(run.mocks, types.template)[0].retainOnDelete, warnings: run.warnings.join("\n") };
        };
        expect((await retained({ importTemplateId: "rct-0123456789abcdef0" })).retainOnDelete).to.equal(true);
        // The clean-up once the import is done: the template stays the account's own.
        expect((await retained({})).retainOnDelete).to.equal(true);
        const optedOut = await retained({ retainOnDelete: false });
        expect(optedOut.retainOnDelete).to.equal(false);
        expect(optedOut.warnings).to.match(
            /replication.retainOnDelete is false: removing replication from this entry, or `pulumi destroy`, deletes/,
        );
    });

    it("adopts the staging role the DRS console created (stagingRole: import)", async () => {
        const run = await runProgram({
            target: { accountId: target, keyUserRoleNames: ["R"] },
            stagingAccounts: [
                { accountId: stagingA, region: "us-east-1", stagingRole: "import", replication: { stagingAreaSubnetId: subnet } },
            ],
        });
        const [role] = byType(run.mocks, types.role);
        expect(role.importId).to.equal(`DRSStagingAccountRole_${target}`);
        expect(role.protect).to.equal(true);
        const [attachment] = byType(run.mocks, types.attachment).filter((a) => a.account === stagingA);
        expect(attachment.importId).to.equal(
            `DRSStagingAccountRole_${target}/arn:aws:iam::aws:policy/service-role/AWSElasticDisasterRecoveryStagingAccountPolicy_v2`,
        );
    });

    it("reads an existing staging role without managing it (stagingRole: existing)", async () => {
        const run = await runProgram({
            target: { accountId: target, keyUserRoleNames: ["R"] },
            stagingAccounts: [
                { accountId: stagingA, region: "us-east-1", stagingRole: "existing", replication: { stagingAreaSubnetId: subnet } },
            ],
        });
        expect(byType(run.mocks, types.role)).to.deep.equal([]);
        const policy = policyOf(drsKeys(run.mocks)[0]);
        expect(policy.Id).to.match(/^drs-cross-account-key-policy-AROA[0-9A-F]{17}$/);
        expect(policy.Statement[4].Principal.AWS).to.equal(`arn:aws:iam::${stagingA}:role/service-role/DRSStagingAccountRole_${target}`);
    });

    it("leaves the key unprotected only when key.protect is false, and passes key settings through", async () => {
        const run = await runProgram({
            target: { accountId: target, keyUserRoleNames: ["R"] },
            stagingAccounts: [{ accountId: stagingA, region: "eu-west-1" }],
            key: { protect: false, deletionWindowInDays: 7, alias: "alias/drs/eu", targetAccess: "documented" },
            tags: { CostCenter: "dr" },
        });
        const [key] = drsKeys(run.mocks);
        expect(key.protect).to.equal(false);
        expect(byType(run.mocks, types.role)[0].protect).to.equal(false);
        expect(key.inputs.deletionWindowInDays).to.equal(7);
        expect(byType(run.mocks, types.alias)[0].inputs.name).to.equal("alias/drs/eu");
        expect(policyOf(key).Statement.map((s: any) => s.Sid)).not.to.include("AllowTargetAccountUseThroughEc2");
        expect(policyOf(byType(run.mocks, types.policy)[0]).Statement.map((s: any) => s.Action)).to.deep.equal([
            ["kms:DescribeKey"],
            ["kms:ReEncrypt*"],
        ]);
        expect(policyOf(byType(run.mocks, types.policy)[0]).Statement[1].Condition).to.deep.equal({
            StringEquals: { "kms:ViaService": "ec2.eu-west-1.amazonaws.com" },
        });
        expect(JSON.parse(byType(run.mocks, types.provider)[0].inputs.defaultTags).tags).to.deep.equal({
            ManagedBy: "pulumi",
            Project: "drs-cross-account-kms",
            CostCenter: "dr",
        });
        expect(byType(run.mocks, types.template)).to.deep.equal([]);
        expect(run.warnings.join("\n")).to.match(/no replication block[\s\S]*protect is false/);
    });

    it("passes tags named like object internals to the default tags and the template's staging area tags", async () => {
        const internals = { constructor: "a", toString: "b", hasOwnProperty: "c", valueOf: "d" };
        const run = await runProgram({
            target: { accountId: target, keyUserRoleNames: ["R"] },
            stagingAccounts: [
                { accountId: stagingA, region: "us-east-1", replication: { stagingAreaSubnetId: subnet, stagingAreaTags: internals } },
            ],
            tags: internals,
        });
        for (const provider of byType(run.mocks, types.provider)) {
            expect(JSON.parse(provider.inputs.defaultTags).tags, provider.name).to.deep.equal({
                ManagedBy: "pulumi",
                Project: "drs-cross-account-kms",
                ...internals,
            });
        }
        expect(byType(run.mocks, types.template)[0].inputs.stagingAreaTags).to.deep.equal(internals);
    });

    it("stops on bad config before registering any resource, with every problem", async () => {
        let error: Error | undefined;
        let mocks: RecordingMocks | undefined;
        try {
            await runProgram(
                { target: { accountId: "1" }, stagingAccounts: [{ accountId: "2", region: "mars-1" }] },
                {},
                { onStart: (m) => (mocks = m) },
            );
        } catch (err) {
            error = err as Error;
        }
        expect(pulumi.RunError.isInstance(error)).to.equal(true);
        expect(error?.message).to.match(/Invalid stack config \(3 problems\)/);
        expect(mocks?.registrations).to.deep.equal([]);
    });
});

describe("program, DRS prerequisites", () => {
    /** Runs the fan-in with DRS never initialised in some accounts; returns the error and what was registered. */
    async function withoutDrs(accounts: string[]) {
        let mocks: RecordingMocks | undefined;
        try {
            await runProgram(fanIn, {}, { aws: { drsUninitialised: accounts }, onStart: (m) => (mocks = m) });
        } catch (err) {
            return { error: err as Error, registered: mocks!.registrations.map((r) => r.type) };
        }
        throw new Error("the program ran without DRS's service-linked role");
    }

    it("fails before any key is registered, naming the staging account without DRS's service-linked role and the fix", async () => {
        const { error, registered } = await withoutDrs([stagingB]);
        expect(pulumi.RunError.isInstance(error)).to.equal(true);
        expect(error.message).to.equal(
            `DRS is not initialised in staging account ${stagingB}: its service-linked role AWSServiceRoleForElasticDisasterRecovery does not exist, ` +
                `and KMS refuses a key policy that names it. Initialise DRS in ${stagingB} (DRS console, or ` +
                "`aws drs initialize-service --region <region>`) in us-east-1, then run `pulumi preview` again.",
        );
        expect(registered.filter((t) => t !== types.provider)).to.deep.equal([]);
    });

    it("names every such account at once, with its Regions", async () => {
        const { error } = await withoutDrs([stagingA, stagingB]);
        const lines = error.message.split("\n");
        expect(lines).to.have.length(2);
        expect(lines[0]).to.match(new RegExp(`^DRS is not initialised in staging account ${stagingA}: .* in us-east-1, us-west-2, then`));
        expect(lines[1]).to.match(new RegExp(`^DRS is not initialised in staging account ${stagingB}: `));
    });

    it("checks each staging account once, with that account's provider", async () => {
        const run = await runProgram(fanIn);
        expect(run.mocks.invokes.map((i) => [i.token, i.inputs.name, i.account]).sort()).to.deep.equal([
            ["aws:iam/getRole:getRole", "AWSServiceRoleForElasticDisasterRecovery", stagingA],
            ["aws:iam/getRole:getRole", "AWSServiceRoleForElasticDisasterRecovery", stagingB],
        ]);
        expect(drsKeys(run.mocks)).to.have.length(3);
    });
});

describe("program, IAM Identity Center", () => {
    const instanceArn = "arn:aws:sso:::instance/ssoins-0123456789abcdef";
    const permissionSet = (id: string) => `arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-${id}`;
    const identityCenter = {
        accountId: "999988887777",
        region: "eu-west-1",
        instanceArn,
        permissionSetArns: [permissionSet("0123456789abcdef"), permissionSet("fedcba9876543210")],
    };
    const attachmentType = "aws:ssoadmin/customerManagedPolicyAttachment:CustomerManagedPolicyAttachment";

    it("references the key-use policy from each permission set, with a provider pinned to the Identity Center account", async () => {
        const run = await runProgram({
            target: { accountId: target },
            stagingAccounts: [{ accountId: stagingA, region: "us-east-1", replication: { stagingAreaSubnetId: subnet } }],
            identityCenter,
        });
        const attachments = byType(run.mocks, attachmentType);
        expect(
            attachments.map((a) => [a.account, a.provider, a.inputs.permissionSetArn, a.inputs.customerManagedPolicyReference]),
        ).to.deep.equal(
            identityCenter.permissionSetArns.map((arn) => [
                "999988887777",
                "aws-identity-center-999988887777",
                arn,
                { name: "DrsCrossAccountKmsKeyUse", path: "/" },
            ]),
        );
        expect(attachments.every((a) => a.inputs.instanceArn === instanceArn)).to.equal(true);
        expect(byType(run.mocks, types.policy).map((p) => p.inputs.name)).to.deep.equal(["DrsCrossAccountKmsKeyUse"]);
        expect(run.warnings.join("\n")).not.to.match(/keyUserRoleNames is empty/);
    });

    it("references every part of a split key-use policy, by the names the target account has", async () => {
        const stagingAccounts = fleetEntries(90);
        const run = await runProgram({
            target: { accountId: target },
            stagingAccounts,
            alerts: { enabled: false },
            identityCenter: { ...identityCenter, permissionSetArns: [permissionSet("0123456789abcdef")] },
        });
        const names = byType(run.mocks, types.policy)
            .map((p) => p.inputs.name)
            .sort();
        expect(names.length).to.be.greaterThan(1);
        expect(
            byType(run.mocks, attachmentType)
                .map((a) => a.inputs.customerManagedPolicyReference.name)
                .sort(),
        ).to.deep.equal(names);
    });
});

describe("program at fleet scale", () => {
    it("splits the target's key-use policy for 30 accounts x 3 Regions and attaches every part to each role", async () => {
        const stagingAccounts = fleetEntries(90);
        const run = await runProgram({
            target: { accountId: target, keyUserRoleNames: ["A", "B"] },
            stagingAccounts,
            alerts: { enabled: false },
        });
        const policies = byType(run.mocks, types.policy);
        expect(policies.length).to.be.within(2, 10);
        expect(policies.map((p) => p.inputs.name)).to.include.members(["DrsCrossAccountKmsKeyUse", "DrsCrossAccountKmsKeyUse-2"]);
        const keyArns = drsKeys(run.mocks)
            .map((k) => k.state.arn)
            .sort();
        const covered = policies.flatMap((p) => policyOf(p).Statement[0].Resource as string[]).sort();
        expect(covered).to.deep.equal(keyArns);
        for (const p of policies) expect(JSON.stringify(policyOf(p)).replace(/\s/g, "").length).to.be.at.most(6144);
        const targetAttachments = byType(run.mocks, types.attachment).filter((a) => a.account === target);
        expect(targetAttachments).to.have.length(policies.length * 2);
        expect(run.outputs.targetKeyUsePolicyArns).to.have.length(policies.length);
        expect(
            run.warnings.filter((w) => !/no replication block|alerts.enabled is false|name no roleArn or profile/.test(w)),
        ).to.deep.equal([]);
    });

    it("warns when the key-use policies take more than half of a role's managed-policy quota", async () => {
        const stagingAccounts = fleetEntries(210);
        const run = await runProgram({
            target: { accountId: target, keyUserRoleNames: ["A"] },
            stagingAccounts,
            alerts: { enabled: false },
        });
        const count = byType(run.mocks, types.policy).length;
        expect(count).to.be.within(6, 10);
        expect(
            run.warnings.filter((w) => !/no replication block|alerts.enabled is false|name no roleArn or profile/.test(w)),
        ).to.deep.equal([
            `210 keys need ${count} key-use policies, attached to each of A: a role holds at most 10 managed policies, including any other policy attached to it.`,
        ]);
    });
});

describe("program, split stacks", () => {
    it("runs the shipped staging stack: staging side only", async () => {
        const run = await runProgram(stackFileConfig("staging"));
        expect(byType(run.mocks, types.policy)).to.deep.equal([]);
        expect(drsKeys(run.mocks)).to.have.length(1);
        expect(run.outputs.deploy).to.equal("staging");
        expect(run.outputs.stagingKeys).to.have.length(1);
        expect(run.outputs).not.to.have.property("targetKeyUsePolicyArns");
        expect(run.warnings).to.deep.equal([]);
    });

    it("runs the shipped target stack: reads key ARNs through StackReference, builds the target side only", async () => {
        const staging = await runProgram(stackFileConfig("staging"));
        const stagingOutputs = staging.outputs;
        const run = await runProgram(stackFileConfig("target"), { "organization/drs-cross-account-kms/staging": stagingOutputs });
        expect(byType(run.mocks, types.stackReference).map((r) => r.inputs.name)).to.deep.equal([
            "organization/drs-cross-account-kms/staging",
        ]);
        expect(drsKeys(run.mocks)).to.deep.equal([]);
        expect(byType(run.mocks, types.role)).to.deep.equal([]);
        const [policy] = byType(run.mocks, types.policy);
        expect(policy.account).to.equal(target);
        const stagingKeyArn = (stagingOutputs.stagingKeys as any[])[0].keyArn;
        expect(policyOf(policy).Statement[0].Resource).to.deep.equal([stagingKeyArn]);
        expect(byType(run.mocks, types.attachment).map((a) => a.inputs.role)).to.deep.equal(["DrsRecoveryOperator"]);
        expect(run.outputs.targetKeyUsePolicyArns).to.deep.equal([`arn:aws:iam::${target}:policy/DrsCrossAccountKmsKeyUse`]);
        expect(run.outputs.stagingKeys).to.deep.equal(stagingOutputs.stagingKeys);
    });

    it("fails the target stack with a clear error when a staging stack was deployed for another target", async () => {
        const staging = await runProgram(stackFileConfig("staging"));
        const elsewhere = { ...staging.outputs, targetAccountId: "999988887777" };
        let error: Error | undefined;
        try {
            await runProgram(stackFileConfig("target"), { "organization/drs-cross-account-kms/staging": elsewhere });
        } catch (err) {
            error = err as Error;
        }
        expect(error?.message).to.match(
            /stagingStacks\[0\] "organization\/drs-cross-account-kms\/staging" was deployed for target account "999988887777", not 111122223333/,
        );
    });
});
