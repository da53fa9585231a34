import { expect } from "chai";
import { parseConfig } from "../../config";
import { buildAlertTopicKeyPolicy, buildAlertTopicPolicy, buildKeyAlertEventPattern } from "../../components/policies";
import { decide } from "../../plan/simulate";
import { byType, runProgram } from "../support/mocks";

const account = "444455556666";
const keyId = "1234abcd-12ab-34cd-56ef-1234567890ab";
const keyArn = `arn:aws:kms:us-east-1:${account}:key/${keyId}`;
const ruleArn = `arn:aws:events:us-east-1:${account}:rule/drs-key-alerts`;
const topicArn = `arn:aws:sns:us-east-1:${account}:drs-key-alerts`;

/** EventBridge's matching for the pattern features used here: lists of exact values, nested objects. */
function matches(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
    return Object.entries(pattern).every(([field, expected]) => {
        const actual = event[field];
        if (Array.isArray(expected)) return [actual].flat().some((value) => expected.includes(value));
        return (
            actual !== null && typeof actual === "object" && matches(expected as Record<string, unknown>, actual as Record<string, unknown>)
        );
    });
}

/** A CloudTrail management event as EventBridge delivers it. */
const cloudTrailEvent = (eventName: string, requestedKey: string, source = "aws.kms") => ({
    source,
    "detail-type": "AWS API Call via CloudTrail",
    account,
    region: "us-east-1",
    detail: {
        eventSource: "kms.amazonaws.com",
        eventName,
        requestParameters: { keyId: requestedKey },
        userIdentity: { type: "AssumedRole" },
    },
});

describe("key-loss alerts", () => {
    const pattern = buildKeyAlertEventPattern({ keyArn, keyId });

    it("has exactly this pattern", () => {
        expect(pattern).to.deep.equal({
            source: ["aws.kms"],
            "detail-type": ["AWS API Call via CloudTrail"],
            detail: {
                eventSource: ["kms.amazonaws.com"],
                eventName: ["DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy"],
                requestParameters: { keyId: [keyId, keyArn] },
            },
        });
    });

    it("matches DisableKey, ScheduleKeyDeletion and PutKeyPolicy of this key, by ID or ARN", () => {
        for (const eventName of ["DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy"]) {
            expect(matches(pattern, cloudTrailEvent(eventName, keyId)), eventName).to.equal(true);
            expect(matches(pattern, cloudTrailEvent(eventName, keyArn)), eventName).to.equal(true);
        }
    });

    it("does not match other events, other keys or other sources", () => {
        for (const eventName of ["EnableKey", "CancelKeyDeletion", "Decrypt", "CreateGrant", "DisableKeyRotation"]) {
            expect(matches(pattern, cloudTrailEvent(eventName, keyId)), eventName).to.equal(false);
        }
        expect(matches(pattern, cloudTrailEvent("DisableKey", "9999abcd-12ab-34cd-56ef-1234567890ab"))).to.equal(false);
        expect(matches(pattern, cloudTrailEvent("DisableKey", keyId, "aws.s3"))).to.equal(false);
    });

    it("lets only EventBridge, for this rule of this account, publish to the topic", async () => {
        const policy = buildAlertTopicPolicy({ topicArn, accountId: account, ruleArns: [ruleArn] });
        const publish = (principal: string, context: Record<string, string>) =>
            decide({ principal, action: "sns:Publish", resource: topicArn, resourceAccount: account, context, resourcePolicy: policy });
        expect(await publish("events.amazonaws.com", { "aws:SourceArn": ruleArn, "aws:SourceAccount": account })).to.equal("Allowed");
        expect(
            await publish("events.amazonaws.com", {
                "aws:SourceArn": `arn:aws:events:us-east-1:${account}:rule/other`,
                "aws:SourceAccount": account,
            }),
        ).to.equal("ImplicitlyDenied");
        expect(
            await publish("events.amazonaws.com", {
                "aws:SourceArn": "arn:aws:events:us-east-1:999988887777:rule/drs-key-alerts",
                "aws:SourceAccount": "999988887777",
            }),
        ).to.equal("ImplicitlyDenied");
        expect(await publish("arn:aws:iam::999988887777:role/Anyone", {})).to.equal("ImplicitlyDenied");
    });

    it("lets EventBridge of this account, and no other, use the topic's key", async () => {
        const policy = buildAlertTopicKeyPolicy({ accountId: account, region: "us-east-1" });
        const topicKey = `arn:aws:kms:us-east-1:${account}:key/2234abcd-12ab-34cd-56ef-1234567890ab`;
        const use = (action: string, sourceAccount: string) =>
            decide({
                principal: "events.amazonaws.com",
                action,
                resource: topicKey,
                resourceAccount: account,
                context: { "aws:SourceAccount": sourceAccount },
                resourcePolicy: policy,
            });
        expect(await use("kms:GenerateDataKey", account)).to.equal("Allowed");
        expect(await use("kms:Decrypt", account)).to.equal("Allowed");
        expect(await use("kms:GenerateDataKey", "999988887777")).to.equal("ImplicitlyDenied");
        expect(await use("kms:ScheduleKeyDeletion", account)).to.equal("ImplicitlyDenied");
    });
});

describe("key-loss alerts in the program", () => {
    const target = { accountId: "111122223333", keyUserRoleNames: ["R"] };

    it("watches each DRS key from its own account and Region, into an encrypted topic only its rule may publish to", async () => {
        const run = await runProgram({
            target,
            stagingAccounts: [
                { accountId: account, region: "us-east-1" },
                { accountId: account, region: "eu-west-1" },
            ],
        });
        const keys = byType(run.mocks, "aws:kms/key:Key");
        const rules = byType(run.mocks, "aws:cloudwatch/eventRule:EventRule");
        expect(rules.map((r) => [r.account, r.inputs.region])).to.deep.equal([
            [account, "eu-west-1"],
            [account, "us-east-1"],
        ]);
        for (const rule of rules) {
            const drsKey = keys.find((k) => k.name === rule.name.replace("-alerts-rule", "-key-key"))!;
            expect(JSON.parse(rule.inputs.eventPattern)).to.deep.equal(
                buildKeyAlertEventPattern({ keyArn: drsKey.state.arn, keyId: drsKey.state.keyId }),
            );
            const topic = byType(run.mocks, "aws:sns/topic:Topic").find((t) => t.name === rule.name.replace("-rule", "-topic"))!;
            const topicKey = keys.find((k) => k.name === rule.name.replace("-rule", "-topic-key"))!;
            expect(topic.inputs.kmsMasterKeyId).to.equal(topicKey.state.arn);
            expect(topic.inputs.region).to.equal(rule.inputs.region);
            const topicPolicy = byType(run.mocks, "aws:sns/topicPolicy:TopicPolicy").find((p) => p.inputs.arn === topic.state.arn)!;
            expect(JSON.parse(topicPolicy.inputs.policy)).to.deep.equal(
                buildAlertTopicPolicy({ topicArn: topic.state.arn, accountId: account, ruleArns: [rule.state.arn] }),
            );
            const targets = byType(run.mocks, "aws:cloudwatch/eventTarget:EventTarget").filter((t) => t.inputs.rule === rule.state.name);
            expect(targets.map((t) => [t.inputs.arn, t.inputs.region])).to.deep.equal([[topic.state.arn, rule.inputs.region]]);
        }
        expect((run.outputs.stagingKeys as { alertTopicArn: string }[]).map((k) => k.alertTopicArn)).to.have.length(2);
    });

    it("delivers to an existing topic when one is given, creating no topic", async () => {
        const existing = `arn:aws:sns:us-east-1:${account}:security-alerts`;
        const run = await runProgram({ target, stagingAccounts: [{ accountId: account, region: "us-east-1", alertTopicArn: existing }] });
        expect(byType(run.mocks, "aws:sns/topic:Topic")).to.deep.equal([]);
        expect(byType(run.mocks, "aws:cloudwatch/eventTarget:EventTarget").map((t) => t.inputs.arn)).to.deep.equal([existing]);
        expect((run.outputs.stagingKeys as { alertTopicArn: string }[])[0].alertTopicArn).to.equal(existing);
    });

    it("can be turned off, with a warning", async () => {
        const run = await runProgram({
            target,
            stagingAccounts: [{ accountId: account, region: "us-east-1" }],
            alerts: { enabled: false },
        });
        expect(byType(run.mocks, "aws:cloudwatch/eventRule:EventRule")).to.deep.equal([]);
        expect(run.warnings.join("\n")).to.match(/alerts.enabled is false: nobody hears when a DRS key is disabled/);
    });

    it("refuses a topic ARN of another account or Region", () => {
        expect(() =>
            parseConfig({
                target,
                stagingAccounts: [{ accountId: account, region: "us-east-1", alertTopicArn: `arn:aws:sns:us-west-2:${account}:t` }],
            }),
        ).to.throw(
            /stagingAccounts\[0\].alertTopicArn is in 444455556666\/us-west-2: EventBridge delivers to a topic in the rule's own account and Region/,
        );
        expect(() =>
            parseConfig({ target, stagingAccounts: [{ accountId: account, region: "us-east-1", alertTopicArn: "security-alerts" }] }),
        ).to.throw(/is not an SNS topic ARN/);
    });
});
