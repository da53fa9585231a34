// drs-cross-account-kms/testing: the mocks a program that uses the components is tested under.
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import {
    DrsCrossAccountKey,
    DrsKeyLossAlerts,
    DrsReplicationTemplate,
    DrsStagingRole,
    DrsTargetKeyAccess,
    accountProvider,
} from "../../components";
import { DrsMocks, setDrsMocks } from "../../components/testing";

const staging = "444455556666";
const target = "111122223333";
const value = <T>(output: pulumi.Output<T>) => new Promise<T>((resolve) => output.apply(resolve));

describe("drs-cross-account-kms/testing", () => {
    let mocks: DrsMocks;
    before(async () => {
        mocks = await setDrsMocks({ project: "dr-keys", stack: "test" });
    });

    it("answers the components' resources with ARN-shaped outputs in their provider's account and Region", async () => {
        const provider = accountProvider("staging", { accountId: staging, region: "eu-west-1" });
        const role = new DrsStagingRole("drs-role", { targetAccountId: target }, { provider });
        const key = new DrsCrossAccountKey(
            "drs-key",
            {
                stagingAccountId: staging,
                targetAccountId: target,
                region: "eu-west-1",
                stagingRoleArn: role.roleArn,
                stagingRoleUniqueId: role.roleUniqueId,
            },
            { provider },
        );
        const template = new DrsReplicationTemplate(
            "drs-template",
            { region: "eu-west-1", ebsEncryptionKeyArn: key.keyArn, stagingAreaSubnetId: "subnet-0123456789abcdef0" },
            { provider },
        );
        const alerts = new DrsKeyLossAlerts(
            "drs-alerts",
            { accountId: staging, region: "eu-west-1", keyArn: key.keyArn, keyId: key.keyId },
            { provider },
        );
        const targetProvider = accountProvider("target", { accountId: target, region: "eu-west-1" });
        const access = new DrsTargetKeyAccess(
            "drs-target",
            { keys: [{ keyArn: key.keyArn, region: "eu-west-1", accountId: staging }], roleNames: ["DrsRecoveryOperator"] },
            { provider: targetProvider },
        );

        const uuid = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
        expect(await value(key.keyArn)).to.match(new RegExp(`^arn:aws:kms:eu-west-1:${staging}:key/${uuid}$`));
        expect(await value(key.keyId)).to.match(new RegExp(`^${uuid}$`));
        expect(await value(key.aliasArn)).to.equal(`arn:aws:kms:eu-west-1:${staging}:alias/drs-cross-account-ebs`);
        expect(await value(role.roleArn)).to.equal(`arn:aws:iam::${staging}:role/service-role/DRSStagingAccountRole_${target}`);
        expect(await value(role.roleUniqueId)).to.match(/^AROA[0-9A-F]{17}$/);
        expect(await value(template.templateId)).to.match(/^rct-[0-9a-f]{17}$/);
        expect(await value(template.templateArn)).to.match(
            new RegExp(`^arn:aws:drs:eu-west-1:${staging}:replication-configuration-template/rct-[0-9a-f]{17}$`),
        );
        for (const arn of await value(alerts.ruleArns))
            expect(arn).to.match(new RegExp(`^arn:aws:events:(eu-west-1|us-east-1):${staging}:rule/`));
        expect(await value(alerts.topicArn)).to.match(new RegExp(`^arn:aws:sns:eu-west-1:${staging}:`));
        for (const arn of await value(access.policyArns)) expect(arn).to.match(new RegExp(`^arn:aws:iam::${target}:policy/`));

        // The key policy names the role as IAM does, by ARN and unique ID; every resource is in its provider's account.
        const policy = JSON.parse(String(mocks.ofType("aws:kms/key:Key").find((k) => k.name === "drs-key-key")!.inputs.policy));
        expect(JSON.stringify(policy)).to.include(await value(role.roleUniqueId));
        expect(new Set(mocks.resources.filter((r) => r.type.startsWith("aws:iam/policy")).map((r) => r.account))).to.deep.equal(
            new Set([target]),
        );
        expect(new Set(mocks.ofType("aws:kms/key:Key").map((r) => r.account))).to.deep.equal(new Set([staging]));
    });

    it("gives the same ARNs on every run, and names an invoke it does not answer", async () => {
        const again = await setDrsMocks();
        const provider = accountProvider("staging-again", { accountId: staging, region: "eu-west-1" });
        const first = new DrsCrossAccountKey(
            "drs-key",
            { stagingAccountId: staging, targetAccountId: target, region: "eu-west-1", stagingRoleArn: `arn:aws:iam::${staging}:role/x` },
            { provider },
        );
        expect(await value(first.keyArn)).to.equal(mocks.ofType("aws:kms/key:Key").find((k) => k.name === "drs-key-key")!.state.arn);
        expect(again.ofType("aws:kms/key:Key")).to.have.length(1);
    });
});
