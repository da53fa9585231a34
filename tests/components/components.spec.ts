import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { DrsCrossAccountKey, DrsPermissionSetKeyAccess, DrsTargetKeyAccess, policies } from "../../components";
import { byType, installMocks, settle, unwrap } from "../support/mocks";

// The components reused on their own, as another Pulumi project would, with its own provider.
describe("components on their own", () => {
    it("DrsCrossAccountKey: key, alias and policy with the caller's provider, children named after it", async () => {
        const mocks = await installMocks();
        const provider = new aws.Provider("mine", { region: "eu-central-1", allowedAccountIds: ["444455556666"] });
        const key = new DrsCrossAccountKey(
            "eu",
            {
                stagingAccountId: "444455556666",
                targetAccountId: "111122223333",
                region: "eu-central-1",
                stagingRoleArn: "arn:aws:iam::444455556666:role/service-role/DRSStagingAccountRole_111122223333",
            },
            { provider },
        );
        const keyArn = await unwrap(key.keyArn);
        await settle();
        expect(keyArn).to.match(/^arn:aws:kms:eu-central-1:444455556666:key\/[0-9a-f-]{36}$/);
        expect(await unwrap(key.aliasName)).to.equal("alias/drs-cross-account-ebs");
        const [registered] = byType(mocks, "aws:kms/key:Key");
        expect(registered.name).to.equal("eu-key");
        expect(registered.provider).to.equal("mine");
        expect(registered.protect).to.equal(true);
        expect(JSON.parse(registered.inputs.policy)).to.deep.equal(
            policies.buildKeyPolicy({
                stagingAccountId: "444455556666",
                targetAccountId: "111122223333",
                region: "eu-central-1",
                stagingRoleArn: "arn:aws:iam::444455556666:role/service-role/DRSStagingAccountRole_111122223333",
                targetAccess: "documented",
            }),
        );
        expect(byType(mocks, "aws:kms/alias:Alias").map((a) => [a.name, a.provider])).to.deep.equal([["eu-alias", "mine"]]);
    });

    it("DrsCrossAccountKey: adopts a key of another Region than the provider's by its ID and @region, and a replica of a primary", async () => {
        const mocks = await installMocks();
        const provider = new aws.Provider("mine", { region: "us-east-1", allowedAccountIds: ["444455556666"] });
        const common = {
            stagingAccountId: "444455556666",
            targetAccountId: "111122223333",
            stagingRoleArn: "arn:aws:iam::444455556666:role/service-role/DRSStagingAccountRole_111122223333",
        };
        const mrk = "mrk-0123456789abcdef0123456789abcdef";
        const primary = new DrsCrossAccountKey(
            "primary",
            { ...common, region: "us-east-1", importKeyId: mrk, importAlias: true, multiRegion: true },
            { provider },
        );
        const replica = new DrsCrossAccountKey("replica", { ...common, region: "eu-west-1", primaryKeyArn: primary.keyArn }, { provider });
        expect(await unwrap(replica.keyArn)).to.equal(`arn:aws:kms:eu-west-1:444455556666:key/${mrk}`);
        await settle();
        const [key] = byType(mocks, "aws:kms/key:Key");
        expect([key.importId, key.inputs.multiRegion, key.retainOnDelete]).to.deep.equal([`${mrk}@us-east-1`, true, true]);
        const [replicaKey] = byType(mocks, "aws:kms/replicaKey:ReplicaKey");
        expect([replicaKey.name, replicaKey.inputs.primaryKeyArn, replicaKey.inputs.region, replicaKey.importId]).to.deep.equal([
            "replica-key",
            `arn:aws:kms:us-east-1:444455556666:key/${mrk}`,
            "eu-west-1",
            undefined,
        ]);
        expect(replicaKey.inputs).not.to.have.property("enableKeyRotation");
        expect(byType(mocks, "aws:kms/alias:Alias").map((a) => [a.name, a.importId])).to.deep.equal([
            ["primary-alias", "alias/drs-cross-account-ebs@us-east-1"],
            ["replica-alias", undefined],
        ]);
    });

    it("DrsTargetKeyAccess: refuses service-linked roles before creating anything", async () => {
        const mocks = await installMocks();
        const provider = new aws.Provider("target", { region: "us-east-1", allowedAccountIds: ["111122223333"] });
        expect(
            () =>
                new DrsTargetKeyAccess(
                    "target",
                    {
                        keys: [
                            {
                                accountId: "444455556666",
                                region: "us-east-1",
                                keyArn: "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                            },
                        ],
                        roleNames: ["AWSServiceRoleForElasticDisasterRecovery"],
                    },
                    { provider },
                ),
        ).to.throw(
            /AWSServiceRoleForElasticDisasterRecovery is a service-linked role; IAM rejects any policy attached to one \(UnmodifiableEntity\)/,
        );
        await settle();
        expect(byType(mocks, "aws:iam/policy:Policy")).to.deep.equal([]);
        expect(byType(mocks, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")).to.deep.equal([]);
    });

    it("DrsTargetKeyAccess: refuses IAM Identity Center roles before creating anything, pointing to permission sets", async () => {
        const mocks = await installMocks();
        const provider = new aws.Provider("target", { region: "us-east-1", allowedAccountIds: ["111122223333"] });
        const keyArn = "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        expect(
            () =>
                new DrsTargetKeyAccess(
                    "target",
                    {
                        keys: [{ accountId: "444455556666", region: "us-east-1", keyArn }],
                        roleNames: ["AWSReservedSSO_DrOperators_0123456789abcdef"],
                    },
                    { provider },
                ),
        ).to.throw(/AWSReservedSSO_DrOperators_0123456789abcdef is a role of IAM Identity Center.*DrsPermissionSetKeyAccess/);
        await settle();
        expect(byType(mocks, "aws:iam/policy:Policy")).to.deep.equal([]);
    });

    it("DrsPermissionSetKeyAccess: each permission set references each policy by name and path, with the caller's provider", async () => {
        const mocks = await installMocks();
        const provider = new aws.Provider("identity-center", { region: "eu-west-1", allowedAccountIds: ["999988887777"] });
        const permissionSetArns = [
            "arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-0123456789abcdef",
            "arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-fedcba9876543210",
        ];
        new DrsPermissionSetKeyAccess(
            "sso",
            { instanceArn: "arn:aws:sso:::instance/ssoins-0123456789abcdef", permissionSetArns, policyNames: ["KeyUse", "KeyUse-2"] },
            { provider },
        );
        await settle();
        const attachments = byType(mocks, "aws:ssoadmin/customerManagedPolicyAttachment:CustomerManagedPolicyAttachment");
        expect(
            attachments.map((a) => [a.name, a.provider, a.inputs.permissionSetArn, a.inputs.customerManagedPolicyReference]),
        ).to.deep.equal([
            ["sso-ps-0123456789abcdef-KeyUse", "identity-center", permissionSetArns[0], { name: "KeyUse", path: "/" }],
            ["sso-ps-0123456789abcdef-KeyUse-2", "identity-center", permissionSetArns[0], { name: "KeyUse-2", path: "/" }],
            ["sso-ps-fedcba9876543210-KeyUse", "identity-center", permissionSetArns[1], { name: "KeyUse", path: "/" }],
            ["sso-ps-fedcba9876543210-KeyUse-2", "identity-center", permissionSetArns[1], { name: "KeyUse-2", path: "/" }],
        ]);
    });

    it("DrsTargetKeyAccess: one policy on exact keys, attached to each named role", async () => {
        const mocks = await installMocks();
        const provider = new aws.Provider("target", { region: "us-east-1", allowedAccountIds: ["111122223333"] });
        const keyArn = "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        const access = new DrsTargetKeyAccess(
            "access",
            { keys: [{ accountId: "444455556666", region: "us-east-1", keyArn }], roleNames: ["A", "B"] },
            { provider },
        );
        const [policyArn] = await unwrap(access.policyArns);
        await settle();
        const attachments = byType(mocks, "aws:iam/rolePolicyAttachment:RolePolicyAttachment");
        expect(attachments.map((a) => [a.name, a.inputs.role, a.inputs.policyArn, a.provider])).to.deep.equal([
            ["access-A", "A", policyArn, "target"],
            ["access-B", "B", policyArn, "target"],
        ]);
        const [policy] = byType(mocks, "aws:iam/policy:Policy");
        expect(policy.inputs.name).to.equal(undefined); // Pulumi auto-names it unless policyName is given
        expect(JSON.parse(policy.inputs.policy).Statement[0].Resource).to.deep.equal([keyArn]);
    });
});

describe("the Pulumi SDK the tools rely on", () => {
    it("is pinned to a patch range, as the mock runtime uses its internals, which it checks exist", async () => {
        const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8"));
        expect(manifest.dependencies["@pulumi/pulumi"]).to.match(/^~\d+\.\d+\.\d+$/);
        /* eslint-disable @typescript-eslint/no-require-imports */
        expect(typeof require("@pulumi/pulumi/runtime/settings").waitForRPCs).to.equal("function");
        expect(typeof require("@pulumi/pulumi/runtime/debuggable").leakedPromises).to.equal("function");
        /* eslint-enable @typescript-eslint/no-require-imports */
        expect(typeof (pulumi.output(1) as any).promise).to.equal("function");
        await installMocks();
        const monitor = pulumi.runtime.getMonitor() as any;
        for (const method of ["registerResource", "readResource", "newUrn"]) expect(typeof monitor[method], method).to.equal("function");
    });
});
