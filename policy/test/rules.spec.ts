// The policy pack's rules on resources that pass and that violate them, with the manual guide's
// own policies: run by the pack's own `npm test` (cd policy && npm ci && npm test) and by the root's.
import { expect } from "chai";
import { buildKeyPolicy } from "drs-cross-account-kms/policies";
import { ResourceUnderPolicy, packPolicies, rules, violations } from "../rules";
const staging = "444455556666";
const target = "111122223333";
const provider = { allowedAccountIds: [staging] };

const rule = (name: string) => rules.find((r) => r.name === name)!;
const keyWith = (statements: object[], props: Record<string, unknown> = {}): ResourceUnderPolicy => ({
    type: "aws:kms/key:Key",
    props: {
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }),
        ...props,
    },
    providerProps: provider,
});
/** A multi-Region replica as the program declares it: its own key policy, no rotation input. */
const replicaWith = (statements: object[], props: Record<string, unknown> = {}): ResourceUnderPolicy => ({
    type: "aws:kms/replicaKey:ReplicaKey",
    props: {
        primaryKeyArn: `arn:aws:kms:us-east-1:${staging}:key/mrk-1234abcd12ab34cd56ef1234567890ab`,
        region: "us-west-2",
        deletionWindowInDays: 30,
        policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }),
        ...props,
    },
    providerProps: provider,
});
const admin = { Sid: "Admin", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${staging}:root` }, Action: "kms:*", Resource: "*" };

/** The key policy of the manual guide's Step 2, which the program replaces. */
const guideKeyPolicy = [
    admin,
    {
        Sid: "Allow use of the key by target account",
        Effect: "Allow",
        Principal: {
            AWS: [
                `arn:aws:iam::${target}:root`,
                `arn:aws:iam::${target}:role/aws-service-role/drs.amazonaws.com/AWSServiceRoleForElasticDisasterRecovery`,
            ],
        },
        Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
        Resource: "*",
    },
    {
        Sid: "Allow attachment of persistent resources by target account",
        Effect: "Allow",
        Principal: { AWS: [`arn:aws:iam::${target}:root`] },
        Action: ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
        Resource: "*",
        Condition: { Bool: { "kms:GrantIsForAWSResource": true } },
    },
    {
        Sid: "Allow DRS service in staging account to use the key",
        Effect: "Allow",
        Principal: { Service: "drs.amazonaws.com" },
        Action: ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"],
        Resource: "*",
        Condition: { StringEquals: { "kms:ViaService": ["drs.us-east-1.amazonaws.com", "ec2.us-east-1.amazonaws.com"] } },
    },
];

describe("policy pack", () => {
    it("makes the rules that protect data and access mandatory, rotation advisory, each described", () => {
        expect(rules.map((r) => [r.name, r.enforcementLevel])).to.deep.equal([
            ["kms-key-rotation", "advisory"],
            ["kms-key-deletion-window", "mandatory"],
            ["kms-key-admin-only-in-own-account", "mandatory"],
            ["kms-cross-account-statements-conditioned", "mandatory"],
            ["no-wildcard-principal", "mandatory"],
            ["service-principal-confused-deputy", "mandatory"],
            ["iam-kms-exact-keys", "mandatory"],
            ["no-policy-on-service-linked-role", "mandatory"],
        ]);
        for (const r of rules) expect(r.description.length).to.be.greaterThan(20);
    });

    it("gives CrossGuard each rule with its default level (which Pulumi's policy config can change), reporting its check's messages", () => {
        const policies = packPolicies();
        expect(policies.map((p) => [p.name, p.enforcementLevel])).to.deep.equal(rules.map((r) => [r.name, r.enforcementLevel]));
        const reported: string[] = [];
        const rotation = policies.find((p) => p.name === "kms-key-rotation")!;
        rotation.validateResource({ type: "aws:kms/key:Key", props: { enableKeyRotation: false } }, (m) => reported.push(m));
        expect(reported).to.deep.equal(["Automatic key rotation must be on (enableKeyRotation: true)."]);
    });

    it("flags every mistake of the manual guide", () => {
        expect(violations(keyWith(guideKeyPolicy))).to.deep.equal([
            "kms-key-admin-only-in-own-account: Statement Allow attachment of persistent resources by target account grants kms:RevokeGrant to arn:aws:iam::111122223333:root, outside the key's account 444455556666.",
            "kms-cross-account-statements-conditioned: Cross-account statement Allow use of the key by target account lacks kms:CallerAccount and kms:ViaService or kms:GrantIsForAWSResource.",
            "kms-cross-account-statements-conditioned: Cross-account statement Allow attachment of persistent resources by target account lacks kms:CallerAccount.",
            "service-principal-confused-deputy: Statement Allow DRS service in staging account to use the key allows a service principal without aws:SourceAccount or aws:SourceArn.",
        ]);
        const guideIamPolicy = {
            type: "aws:iam/rolePolicy:RolePolicy",
            props: {
                role: "AWSServiceRoleForElasticDisasterRecovery",
                policy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        { Effect: "Allow", Action: ["kms:Decrypt", "kms:DescribeKey"], Resource: `arn:aws:kms:us-east-1:${staging}:key/*` },
                    ],
                }),
            },
        };
        expect(violations(guideIamPolicy)).to.deep.equal([
            `iam-kms-exact-keys: Statement (no Sid) allows kms:Decrypt, kms:DescribeKey on arn:aws:kms:us-east-1:${staging}:key/*: name the exact key ARNs.`,
            "no-policy-on-service-linked-role: AWSServiceRoleForElasticDisasterRecovery is a service-linked role; no policy can be attached to it.",
        ]);
    });

    describe("kms-key-rotation and kms-key-deletion-window", () => {
        const check = (r: ResourceUnderPolicy) => [...rule("kms-key-rotation").check(r), ...rule("kms-key-deletion-window").check(r)];
        it("passes a rotating key with a 7- or 30-day window, or none", () => {
            for (const window of [7, 30, undefined]) expect(check(keyWith([admin], { deletionWindowInDays: window }))).to.deep.equal([]);
        });
        it("fails a key without rotation, or with a shorter window", () => {
            expect(check(keyWith([admin], { enableKeyRotation: false }))).to.deep.equal([
                "Automatic key rotation must be on (enableKeyRotation: true).",
            ]);
            expect(check(keyWith([admin], { deletionWindowInDays: 5 }))).to.deep.equal([
                "The deletion window is 5 days; it must be 7 to 30.",
            ]);
            expect(check(keyWith([admin], { deletionWindowInDays: 31 }))).to.deep.equal([
                "The deletion window is 31 days; it must be 7 to 30.",
            ]);
        });
        it("passes a replica without enableKeyRotation (it has its primary's), with a 7- or 30-day window, or none", () => {
            for (const window of [7, 30, undefined])
                expect(check(replicaWith([admin], { deletionWindowInDays: window })), String(window)).to.deep.equal([]);
        });
        it("fails a replica with a window outside 7 to 30 days", () => {
            expect(check(replicaWith([admin], { deletionWindowInDays: 5 }))).to.deep.equal([
                "The deletion window is 5 days; it must be 7 to 30.",
            ]);
        });
    });

    describe("multi-Region replicas", () => {
        it("pass with the program's key policy for their Region", () => {
            const policy = buildKeyPolicy({
                stagingAccountId: staging,
                targetAccountId: target,
                region: "us-west-2",
                stagingRoleArn: `arn:aws:iam::${staging}:role/service-role/DRSStagingAccountRole_${target}`,
                targetAccess: "ebs-shared-snapshots",
            });
            expect(violations(replicaWith(policy.Statement))).to.deep.equal([]);
            expect(violations({ ...replicaWith(policy.Statement), providerProps: undefined })).to.deep.equal([]);
        });
        it("fail a key policy granting kms:* to another account, or Principal *", () => {
            const toTarget = {
                Sid: "X",
                Effect: "Allow",
                Principal: { AWS: `arn:aws:iam::${target}:root` },
                Action: "kms:*",
                Resource: "*",
            };
            expect(violations(replicaWith([admin, toTarget]))).to.deep.equal([
                `kms-key-admin-only-in-own-account: Statement X grants kms:* to arn:aws:iam::${target}:root, outside the key's account ${staging}.`,
                "kms-cross-account-statements-conditioned: Cross-account statement X lacks kms:CallerAccount and kms:ViaService or kms:GrantIsForAWSResource.",
            ]);
            // Without a provider account, the primary's ARN names the replica's account (two accounts administer it here).
            expect(violations({ ...replicaWith([admin, toTarget]), providerProps: undefined })).to.include(
                `kms-key-admin-only-in-own-account: Statement X grants kms:* to arn:aws:iam::${target}:root, outside the key's account ${staging}.`,
            );
            const everyone = { Sid: "Y", Effect: "Allow", Principal: { AWS: "*" }, Action: "kms:Decrypt", Resource: "*" };
            expect(violations(replicaWith([admin, everyone]))).to.include(
                'no-wildcard-principal: Statement Y allows Principal "*" to anyone: bind it with aws:PrincipalOrgID or name the principals.',
            );
            // Bound to an organisation (or an account, a principal ARN, the caller's account), "*" is not everyone.
            const organisation = { ...everyone, Condition: { StringEquals: { "aws:PrincipalOrgID": "o-abc123def4" } } };
            expect(rule("no-wildcard-principal").check(replicaWith([admin, organisation]))).to.deep.equal([]);
            const notOrganisation = { ...everyone, Condition: { StringNotEquals: { "aws:PrincipalOrgID": "o-abc123def4" } } };
            expect(rule("no-wildcard-principal").check(replicaWith([admin, notOrganisation]))).to.have.length(1);
        });
    });

    describe("kms-key-admin-only-in-own-account", () => {
        const check = rule("kms-key-admin-only-in-own-account").check;
        it("passes administration by the key's own account", () => {
            expect(check(keyWith([admin]))).to.deep.equal([]);
            expect(check({ ...keyWith([admin]), providerProps: undefined })).to.deep.equal([]);
        });
        it("fails kms:* or admin actions for another account, everyone, or a service", () => {
            const give = (principal: object, action: string) =>
                check(keyWith([admin, { Sid: "X", Effect: "Allow", Principal: principal, Action: action, Resource: "*" }]));
            expect(give({ AWS: `arn:aws:iam::${target}:root` }, "kms:*")).to.deep.equal([
                `Statement X grants kms:* to arn:aws:iam::${target}:root, outside the key's account ${staging}.`,
            ]);
            expect(give({ AWS: "*" }, "kms:PutKeyPolicy")).to.have.length(1);
            expect(give({ Service: "events.amazonaws.com" }, "kms:ScheduleKeyDeletion")).to.have.length(1);
            expect(give({ AWS: `arn:aws:iam::${target}:role/Ops` }, "kms:Disable*")).to.deep.equal([
                `Statement X grants kms:Disable* to arn:aws:iam::${target}:role/Ops, outside the key's account ${staging}.`,
            ]);
        });
    });

    describe("kms-cross-account-statements-conditioned", () => {
        const check = rule("kms-cross-account-statements-conditioned").check;
        const forTarget = (action: string | string[], condition?: object) =>
            check(
                keyWith([
                    admin,
                    {
                        Sid: "T",
                        Effect: "Allow",
                        Principal: { AWS: `arn:aws:iam::${target}:root` },
                        Action: action,
                        Resource: "*",
                        Condition: condition,
                    },
                ]),
            );
        it("passes target use through a service or for AWS resources, with the caller account", () => {
            expect(
                forTarget("kms:Decrypt", {
                    StringEquals: { "kms:CallerAccount": target, "kms:ViaService": "ec2.us-east-1.amazonaws.com" },
                }),
            ).to.deep.equal([]);
            expect(
                forTarget("kms:CreateGrant", {
                    StringEquals: { "kms:CallerAccount": target },
                    Bool: { "kms:GrantIsForAWSResource": "true" },
                }),
            ).to.deep.equal([]);
            expect(forTarget("kms:DescribeKey", { StringEquals: { "kms:CallerAccount": target } })).to.deep.equal([]);
        });
        it("fails target use without those conditions", () => {
            expect(forTarget("kms:Decrypt", { StringEquals: { "kms:ViaService": "ec2.us-east-1.amazonaws.com" } })).to.deep.equal([
                "Cross-account statement T lacks kms:CallerAccount.",
            ]);
            expect(forTarget("kms:Decrypt", { StringEquals: { "kms:CallerAccount": target } })).to.deep.equal([
                "Cross-account statement T lacks kms:ViaService or kms:GrantIsForAWSResource.",
            ]);
            expect(forTarget("kms:DescribeKey")).to.deep.equal(["Cross-account statement T lacks kms:CallerAccount."]);
        });
    });

    describe("no-wildcard-principal and service-principal-confused-deputy", () => {
        const topicPolicy = (statement: object): ResourceUnderPolicy => ({
            type: "aws:sns/topicPolicy:TopicPolicy",
            props: {
                policy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "P",
                            Effect: "Allow",
                            Action: "sns:Publish",
                            Resource: "arn:aws:sns:us-east-1:444455556666:t",
                            ...statement,
                        },
                    ],
                }),
            },
        });
        it("pass a service principal limited to a source", () => {
            expect(
                violations(
                    topicPolicy({
                        Principal: { Service: "events.amazonaws.com" },
                        Condition: { ArnEquals: { "aws:SourceArn": "arn:aws:events:us-east-1:444455556666:rule/r" } },
                    }),
                ),
            ).to.deep.equal([]);
        });
        it("fail Principal * and an unlimited service principal, in topic and trust policies", () => {
            expect(violations(topicPolicy({ Principal: { AWS: "*" } }))).to.deep.equal([
                'no-wildcard-principal: Statement P allows Principal "*" to anyone: bind it with aws:PrincipalOrgID or name the principals.',
            ]);
            expect(violations(topicPolicy({ Principal: "*" }))).to.deep.equal([
                'no-wildcard-principal: Statement P allows Principal "*" to anyone: bind it with aws:PrincipalOrgID or name the principals.',
            ]);
            const trust = {
                Version: "2012-10-17",
                Statement: [{ Sid: "Drs", Effect: "Allow", Principal: { Service: "drs.amazonaws.com" }, Action: "sts:AssumeRole" }],
            };
            expect(violations({ type: "aws:iam/role:Role", props: { assumeRolePolicy: JSON.stringify(trust) } })).to.deep.equal([
                "service-principal-confused-deputy: Statement Drs allows a service principal without aws:SourceAccount or aws:SourceArn.",
            ]);
        });
    });

    describe("iam-kms-exact-keys", () => {
        const iamPolicy = (action: string, resource: string): ResourceUnderPolicy => ({
            type: "aws:iam/policy:Policy",
            props: {
                policy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Sid: "K", Effect: "Allow", Action: action, Resource: resource }],
                }),
            },
        });
        const exact = `arn:aws:kms:us-east-1:${staging}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
        it("passes exact key ARNs, and account-level actions on *", () => {
            expect(rule("iam-kms-exact-keys").check(iamPolicy("kms:Decrypt", exact))).to.deep.equal([]);
            expect(rule("iam-kms-exact-keys").check(iamPolicy("kms:ListAliases", "*"))).to.deep.equal([]);
            expect(rule("iam-kms-exact-keys").check(iamPolicy("s3:GetObject", "*"))).to.deep.equal([]);
        });
        it("fails key/*, a partial wildcard and *", () => {
            for (const resource of [`arn:aws:kms:us-east-1:${staging}:key/*`, `arn:aws:kms:us-east-1:${staging}:key/1234*`, "*"]) {
                expect(rule("iam-kms-exact-keys").check(iamPolicy("kms:Decrypt", resource)), resource).to.have.length(1);
            }
            expect(rule("iam-kms-exact-keys").check(iamPolicy("*", "*"))).to.have.length(1);
        });
    });

    describe("no-policy-on-service-linked-role", () => {
        const check = rule("no-policy-on-service-linked-role").check;
        it("passes an attachment to an ordinary role", () => {
            expect(
                check({ type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment", props: { role: "DrsRecoveryOperator" } }),
            ).to.deep.equal([]);
        });
        it("fails attachments and inline policies on a service-linked role, by name or ARN", () => {
            expect(
                check({
                    type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                    props: { role: "AWSServiceRoleForElasticDisasterRecovery" },
                }),
            ).to.have.length(1);
            expect(
                check({
                    type: "aws:iam/policyAttachment:PolicyAttachment",
                    props: {
                        roles: [
                            "Ops",
                            `arn:aws:iam::${target}:role/aws-service-role/drs.amazonaws.com/AWSServiceRoleForElasticDisasterRecovery`,
                        ],
                    },
                }),
            ).to.have.length(1);
        });
        it("fails attachments and inline policies on an IAM Identity Center role, by name or ARN", () => {
            expect(check({ type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment", props: { role: "AWSReservedSSO_X" } })).to.deep.equal(
                [
                    "AWSReservedSSO_X is an IAM Identity Center role, which only Identity Center may change: give its permission set the policy (identityCenter.permissionSetArns).",
                ],
            );
            const ssoRoleArn = `arn:aws:iam::${target}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_DrsOperators_0123456789abcdef`;
            expect(check({ type: "aws:iam/rolePolicy:RolePolicy", props: { role: ssoRoleArn } })).to.have.length(1);
            expect(check({ type: "aws:iam/policyAttachment:PolicyAttachment", props: { roles: ["Ops", ssoRoleArn] } })).to.have.length(1);
        });
    });
});
