import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { parseConfig } from "../../config";
import { DrsKeyLossAlerts } from "../../components/keyLossAlerts";
import {
    KeyAlertInput,
    KeyAlertKind,
    buildAlertForwardingPolicy,
    buildAlertForwardingTrustPolicy,
    buildAlertTopicKeyPolicy,
    buildAlertTopicPolicy,
    buildKeyAlertEventPattern,
    buildKeyAlertMessage,
    buildKeyAlerts,
    keyAlertKinds,
} from "../../components/policies";
import { decide } from "../../plan/simulate";
import { Json, adminSession, cloudTrailEvent, matches, render } from "../support/eventbridge";
import { Registration, byType, installMocks, runProgram, settle } from "../support/mocks";

const account = "444455556666";
const otherAccount = "999988887777";
const keyId = "1234abcd-12ab-34cd-56ef-1234567890ab";
const keyArn = `arn:aws:kms:eu-west-1:${account}:key/${keyId}`;
const otherKeyId = "9999abcd-12ab-34cd-56ef-1234567890ab";
const otherKeyArn = `arn:aws:kms:eu-west-1:${account}:key/${otherKeyId}`;
const role = "DRSStagingAccountRole_111122223333";
const secondRole = "DRSStagingAccountRole_222233334444";
const input: KeyAlertInput = { accountId: account, region: "eu-west-1", keyArn, keyId, stagingRoleNames: [role, secondRole] };
const ruleArn = `arn:aws:events:us-east-1:${account}:rule/drs-key-alerts`;
const topicArn = `arn:aws:sns:us-east-1:${account}:drs-key-alerts`;
const pattern = (kind: KeyAlertKind) => buildKeyAlertEventPattern(kind, input);

/** A KMS call on a key, as CloudTrail records it: the key in requestParameters as given, its ARN among the resources. */
const kmsCall = (eventName: string, requestParameters: Record<string, string> | null, arn = keyArn, more = {}) =>
    cloudTrailEvent({
        eventSource: "kms.amazonaws.com",
        eventName,
        account,
        region: "eu-west-1",
        requestParameters,
        resources: [{ accountId: account, type: "AWS::KMS::Key", ARN: arn }],
        ...more,
    });
const drsCall = (eventName: string, requestParameters: { [key: string]: Json }, more = {}) =>
    cloudTrailEvent({ eventSource: "drs.amazonaws.com", eventName, account, region: "eu-west-1", requestParameters, ...more });
// IAM records its calls in us-east-1, whatever Region the caller used.
const iamCall = (eventName: string, requestParameters: Record<string, string>, more = {}) =>
    cloudTrailEvent({ eventSource: "iam.amazonaws.com", eventName, account, region: "us-east-1", requestParameters, ...more });
const grantId = "0c237476b39f8bc44e45212e08498fbe3151305030726c0590dd8d3e9f3d6a60";
const templateId = "rct-0123456789abcdef0";
const serverId = "s-0123456789abcdef0";

describe("drift alerts: the event patterns against CloudTrail's events", () => {
    it("match the key's DisableKey, ScheduleKeyDeletion and PutKeyPolicy, by key ID or ARN, each in its own rule", () => {
        const kinds: [KeyAlertKind, string][] = [
            ["key-disabled", "DisableKey"],
            ["key-deletion-scheduled", "ScheduleKeyDeletion"],
            ["key-policy-replaced", "PutKeyPolicy"],
        ];
        for (const [kind, eventName] of kinds) {
            for (const key of [keyId, keyArn])
                expect(matches(pattern(kind), kmsCall(eventName, { keyId: key })), `${kind} ${key}`).to.equal(true);
            for (const [, other] of kinds.filter(([k]) => k !== kind))
                expect(matches(pattern(kind), kmsCall(other, { keyId })), `${kind} on ${other}`).to.equal(false);
        }
        expect(pattern("key-deletion-scheduled")).to.deep.equal({
            source: ["aws.kms"],
            "detail-type": ["AWS API Call via CloudTrail"],
            detail: {
                eventSource: ["kms.amazonaws.com"],
                eventName: ["ScheduleKeyDeletion"],
                requestParameters: { keyId: [keyId, keyArn] },
                errorCode: [{ exists: false }],
            },
        });
    });

    it("do not match another key, another event of the key, a refused call or another service's event", () => {
        const keyKinds: KeyAlertKind[] = ["key-disabled", "key-deletion-scheduled", "key-policy-replaced"];
        for (const kind of keyKinds) {
            const [eventName] = keyAlertKinds.find((k) => k.kind === kind)!.eventNames;
            expect(matches(pattern(kind), kmsCall(eventName, { keyId: otherKeyId }, otherKeyArn)), kind).to.equal(false);
            expect(matches(pattern(kind), kmsCall(eventName, { keyId: otherKeyArn }, otherKeyArn)), kind).to.equal(false);
            expect(matches(pattern(kind), kmsCall(eventName, { keyId }, keyArn, { errorCode: "AccessDenied" })), kind).to.equal(false);
            const s3 = { ...kmsCall(eventName, { keyId }), source: "aws.s3" };
            expect(matches(pattern(kind), s3), kind).to.equal(false);
        }
        for (const eventName of ["EnableKey", "CancelKeyDeletion", "Decrypt", "CreateGrant", "DisableKeyRotation", "DescribeKey"]) {
            for (const kind of keyKinds)
                expect(matches(pattern(kind), kmsCall(eventName, { keyId })), `${kind} ${eventName}`).to.equal(false);
        }
    });

    it("match a grant revoked, or retired by key and grant ID or by grant token only, through the key's ARN in resources", () => {
        const grants = pattern("key-grant-removed");
        expect(matches(grants, kmsCall("RevokeGrant", { keyId, grantId }))).to.equal(true);
        expect(matches(grants, kmsCall("RevokeGrant", { keyId: keyArn, grantId }))).to.equal(true);
        expect(matches(grants, kmsCall("RetireGrant", { keyId: keyArn, grantId }))).to.equal(true);
        // With only a grant token, KMS logs no requestParameters: the key is only in resources.
        const byToken = kmsCall("RetireGrant", null, keyArn, { additionalEventData: { grantId } });
        expect(matches(grants, byToken)).to.equal(true);
        expect(matches(pattern("key-disabled"), byToken)).to.equal(false);
    });

    it("do not match a grant of another key, another grant call, a refused call or an AWS service retiring its own grant", () => {
        const grants = pattern("key-grant-removed");
        expect(matches(grants, kmsCall("RevokeGrant", { keyId: otherKeyId, grantId }, otherKeyArn))).to.equal(false);
        expect(matches(grants, kmsCall("RetireGrant", null, otherKeyArn))).to.equal(false);
        for (const eventName of ["CreateGrant", "ListGrants", "ListRetirableGrants"])
            expect(matches(grants, kmsCall(eventName, { keyId })), eventName).to.equal(false);
        expect(matches(grants, kmsCall("RevokeGrant", { keyId, grantId }, keyArn, { errorCode: "AccessDeniedException" }))).to.equal(false);
        const service = { type: "AWSService", invokedBy: "ec2.amazonaws.com" };
        expect(matches(grants, kmsCall("RetireGrant", null, keyArn, { userIdentity: service }))).to.equal(false);
    });

    it("match DRS replication settings and templates changed in the key's account and Region", () => {
        const servers = pattern("server-replication-changed");
        const templates = pattern("template-changed");
        expect(
            matches(servers, drsCall("UpdateReplicationConfiguration", { sourceServerID: serverId, ebsEncryption: "DEFAULT" })),
        ).to.equal(true);
        const changed = drsCall("UpdateReplicationConfigurationTemplate", {
            replicationConfigurationTemplateID: templateId,
            ebsEncryption: "DEFAULT",
        });
        expect(matches(templates, changed)).to.equal(true);
        const deleted = drsCall("DeleteReplicationConfigurationTemplate", { replicationConfigurationTemplateID: templateId });
        expect(matches(templates, deleted)).to.equal(true);
        expect(matches(servers, changed)).to.equal(false);
        expect(matches(templates, drsCall("UpdateReplicationConfiguration", { sourceServerID: serverId }))).to.equal(false);
    });

    it("do not match another account's or Region's DRS, a read-only call, a refused call or a template created", () => {
        const servers = pattern("server-replication-changed");
        const templates = pattern("template-changed");
        const update = { replicationConfigurationTemplateID: templateId };
        const elsewhere = cloudTrailEvent({
            eventSource: "drs.amazonaws.com",
            eventName: "UpdateReplicationConfigurationTemplate",
            account: otherAccount,
            region: "eu-west-1",
            requestParameters: update,
        });
        expect(matches(templates, elsewhere)).to.equal(false);
        const otherRegion = cloudTrailEvent({
            eventSource: "drs.amazonaws.com",
            eventName: "UpdateReplicationConfiguration",
            account,
            region: "eu-central-1",
            requestParameters: { sourceServerID: serverId },
        });
        expect(matches(servers, otherRegion)).to.equal(false);
        const reads = ["DescribeReplicationConfigurationTemplates", "GetReplicationConfiguration", "DescribeSourceServers"];
        for (const eventName of reads) {
            const read = drsCall(eventName, { maxResults: 1000, filters: {} }, { readOnly: true });
            expect(matches(templates, read), eventName).to.equal(false);
            expect(matches(servers, read), eventName).to.equal(false);
        }
        expect(
            matches(templates, drsCall("UpdateReplicationConfigurationTemplate", update, { errorCode: "AccessDeniedException" })),
        ).to.equal(false);
        // A new template changes no existing server or default: not an alert.
        expect(matches(templates, drsCall("CreateReplicationConfigurationTemplate", { ebsEncryption: "DEFAULT" }))).to.equal(false);
    });

    it("match each staging role's deletion, detached and deleted policies and replaced trust", () => {
        const roles = pattern("staging-role-changed");
        for (const roleName of [role, secondRole]) {
            expect(matches(roles, iamCall("DeleteRole", { roleName })), roleName).to.equal(true);
            const managed = "arn:aws:iam::aws:policy/service-role/AWSElasticDisasterRecoveryStagingAccountPolicy_v2";
            expect(matches(roles, iamCall("DetachRolePolicy", { roleName, policyArn: managed })), roleName).to.equal(true);
            expect(matches(roles, iamCall("DeleteRolePolicy", { roleName, policyName: "inline" })), roleName).to.equal(true);
            expect(matches(roles, iamCall("UpdateAssumeRolePolicy", { roleName, policyDocument: "{}" })), roleName).to.equal(true);
        }
    });

    it("do not match another role, another account, another IAM call or a refused one", () => {
        const roles = pattern("staging-role-changed");
        for (const roleName of ["DRSStagingAccountRole_999988887777", "DRSStagingAccountRole_11112222333", "Admin"])
            expect(matches(roles, iamCall("DeleteRole", { roleName })), roleName).to.equal(false);
        const elsewhere = cloudTrailEvent({
            eventSource: "iam.amazonaws.com",
            eventName: "DeleteRole",
            account: otherAccount,
            region: "us-east-1",
            requestParameters: { roleName: role },
        });
        expect(matches(roles, elsewhere)).to.equal(false);
        for (const eventName of ["AttachRolePolicy", "GetRole", "TagRole", "CreateRole", "PutRolePolicy"])
            expect(matches(roles, iamCall(eventName, { roleName: role })), eventName).to.equal(false);
        expect(matches(roles, iamCall("DeleteRole", { roleName: role }, { errorCode: "DeleteConflictException" }))).to.equal(false);
        expect(() => buildKeyAlertEventPattern("staging-role-changed", { ...input, stagingRoleNames: [] })).to.throw(
            /needs the staging role names/,
        );
    });

    it("watch the staging roles only when there are role names, and each kind in exactly one pattern", () => {
        expect(buildKeyAlerts({ ...input, stagingRoleNames: undefined }).map((a) => a.kind)).to.deep.equal([
            "key-disabled",
            "key-deletion-scheduled",
            "key-policy-replaced",
            "key-grant-removed",
            "server-replication-changed",
            "template-changed",
        ]);
        const alerts = buildKeyAlerts(input);
        const samples = [
            kmsCall("DisableKey", { keyId }),
            kmsCall("ScheduleKeyDeletion", { keyId, pendingWindowInDays: "30" }),
            kmsCall("PutKeyPolicy", { keyId, policyName: "default" }),
            kmsCall("RetireGrant", null),
            drsCall("UpdateReplicationConfiguration", { sourceServerID: serverId }),
            drsCall("DeleteReplicationConfigurationTemplate", { replicationConfigurationTemplateID: templateId }),
            iamCall("UpdateAssumeRolePolicy", { roleName: role }),
        ];
        // Each sample raises the alert of its own kind and no other: one message per change.
        expect(samples.map((event) => alerts.filter((a) => matches(a.eventPattern, event)).map((a) => a.kind))).to.deep.equal(
            alerts.map((a) => [a.kind]),
        );
    });
});

describe("drift alerts: the test matcher is EventBridge's", () => {
    it("needs every field (AND), takes any listed value (OR) and an element of an array in the event", () => {
        expect(matches({ a: ["x"], b: ["y"] }, { a: "x", b: "z" })).to.equal(false);
        expect(matches({ a: ["x", "w"] }, { a: "w" })).to.equal(true);
        expect(matches({ a: ["x"] }, { a: ["v", "x"] })).to.equal(true);
        expect(matches({ a: { b: ["x"] } }, { a: [{ b: "v" }, { b: "x" }] })).to.equal(true);
        expect(matches({ a: { b: ["x"], c: ["y"] } }, { a: [{ b: "x" }, { c: "y" }] })).to.equal(false);
        expect(matches({ a: ["x"] }, { a: { b: "x" } })).to.equal(false);
    });

    it("matches exists: false only where no leaf is, and anything-but only on a value that is there", () => {
        expect(matches({ e: [{ exists: false }] }, {})).to.equal(true);
        expect(matches({ e: [{ exists: false }] }, { e: "AccessDenied" })).to.equal(false);
        expect(matches({ t: [{ "anything-but": "AWSService" }] }, { t: "AssumedRole" })).to.equal(true);
        expect(matches({ t: [{ "anything-but": "AWSService" }] }, { t: "AWSService" })).to.equal(false);
        expect(matches({ t: [{ "anything-but": "AWSService" }] }, {})).to.equal(false);
        expect(() => matches({ t: [{ wildcard: "*" }] }, { t: "x" })).to.throw(/does not know the operator wildcard/);
    });
});

describe("drift alerts: what each message says", () => {
    const at = "2026-12-01T10:04:17Z";
    const by = `arn:aws:sts::${account}:assumed-role/Admin/alice`;
    const subject = `DRS key ${keyArn} in ${account}/eu-west-1`;
    const text = (kind: KeyAlertKind, event: unknown) => render(buildKeyAlertMessage(kind, input), event);

    it("says the key was disabled, by whom and when, and to re-enable it", () => {
        expect(text("key-disabled", kmsCall("DisableKey", { keyId }))).to.equal(
            `${subject}: it was disabled by ${by} at ${at}: DRS can neither write new staging disks and snapshots with it nor ` +
                "recover from the ones it encrypted while it stays disabled; re-enable it with kms:EnableKey.",
        );
    });

    it("says the key's deletion was scheduled, what is lost, and to cancel it", () => {
        expect(text("key-deletion-scheduled", kmsCall("ScheduleKeyDeletion", { keyId, pendingWindowInDays: "30" }))).to.equal(
            `${subject}: its deletion was scheduled by ${by} at ${at}: snapshots encrypted with it become unrecoverable when it ` +
                "is deleted; cancel with kms:CancelKeyDeletion, then re-enable it with kms:EnableKey.",
        );
    });

    it("says the key policy was replaced, and to verify and restore it", () => {
        expect(text("key-policy-replaced", kmsCall("PutKeyPolicy", { keyId, policyName: "default" }))).to.equal(
            `${subject}: its key policy was replaced by ${by} at ${at}: DRS, the staging role or the target account may have ` +
                "lost the access replication and recovery need; run drs-cross-account-kms verify, and pulumi up to restore the " +
                "policy the stack declares.",
        );
    });

    it("says a grant was removed, how, and what to check", () => {
        const expected = (event: string) =>
            `${subject}: a grant on it was removed (${event}) by ${by} at ${at}: whoever held it, such as EBS for a DRS staging ` +
            "disk, can no longer use the key through it, and the replication or recovery that relied on it fails; check the " +
            "source servers' replication in the DRS console and run drs-cross-account-kms verify.";
        expect(text("key-grant-removed", kmsCall("RevokeGrant", { keyId, grantId }))).to.equal(expected("RevokeGrant"));
        expect(text("key-grant-removed", kmsCall("RetireGrant", null, keyArn, { additionalEventData: { grantId } }))).to.equal(
            expected("RetireGrant"),
        );
    });

    it("says which source server's replication settings changed, and to align it", () => {
        expect(text("server-replication-changed", drsCall("UpdateReplicationConfiguration", { sourceServerID: serverId }))).to.equal(
            `${subject}: the replication settings of source server ${serverId} were changed by ${by} at ${at}: its new staging ` +
                "disks and snapshots follow its own settings, which may no longer name this key; run drs-cross-account-kms " +
                "align-servers to put it back on the key.",
        );
    });

    it("says which template changed or went, and to verify and restore it", () => {
        const deleted = drsCall("DeleteReplicationConfigurationTemplate", { replicationConfigurationTemplateID: templateId });
        expect(text("template-changed", deleted)).to.equal(
            `${subject}: replication template ${templateId} was changed or deleted (DeleteReplicationConfigurationTemplate) by ` +
                `${by} at ${at}: source servers added from now on take their settings from the template, which may no longer ` +
                "name this key; run drs-cross-account-kms verify, and pulumi up if the stack manages the template.",
        );
    });

    it("says which staging role was deleted or changed, and to verify and restore it", () => {
        const root = { type: "Root", principalId: account, arn: `arn:aws:iam::${account}:root`, accountId: account };
        expect(text("staging-role-changed", iamCall("DeleteRole", { roleName: role }, { userIdentity: root }))).to.equal(
            `${subject}: staging role ${role} was deleted or lost its policy or trust (DeleteRole) by arn:aws:iam::${account}:root ` +
                `at ${at}: DRS in the target account reaches the staging area through it, and a role created again gets a new ID ` +
                "the key policy does not name; run drs-cross-account-kms verify, then pulumi up to restore the role and the key " +
                "policy that names it.",
        );
    });

    it("is plain text per kind, a sentence with its subject first, naming only fields CloudTrail's event has", () => {
        for (const { kind } of keyAlertKinds) {
            const { inputTemplate } = buildKeyAlertMessage(kind, input);
            expect(inputTemplate.startsWith(`${subject}: `), kind).to.equal(true);
            expect(inputTemplate, kind).to.not.match(/["{}]/);
            expect(inputTemplate.endsWith("."), kind).to.equal(true);
        }
        expect(() => render({ inputPaths: {}, inputTemplate: JSON.stringify(subject) }, {})).to.throw(/The template is JSON/);
        // A sample without the field a message names fails to render, so the tests above read real fields.
        expect(() => text("server-replication-changed", drsCall("UpdateReplicationConfiguration", {}))).to.throw(/sourceServerID/);
        expect(adminSession(account).arn).to.equal(by);
    });
});

describe("drift alerts: the topic, its key and the forwarding role", () => {
    it("lets only EventBridge, for these rules of this account, publish to the topic", async () => {
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
                "aws:SourceArn": `arn:aws:events:us-east-1:${otherAccount}:rule/drs-key-alerts`,
                "aws:SourceAccount": otherAccount,
            }),
        ).to.equal("ImplicitlyDenied");
        expect(await publish(`arn:aws:iam::${otherAccount}:role/Anyone`, {})).to.equal("ImplicitlyDenied");
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
        expect(await use("kms:GenerateDataKey", otherAccount)).to.equal("ImplicitlyDenied");
        expect(await use("kms:ScheduleKeyDeletion", account)).to.equal("ImplicitlyDenied");
    });

    it("lets only the forwarding rule assume its role, which may only put events on the key Region's default bus", async () => {
        const forward = `arn:aws:events:us-east-1:${account}:rule/drs-alerts-forward`;
        const trust = buildAlertForwardingTrustPolicy({ accountId: account, region: "eu-west-1", ruleArn: forward });
        const roleArn = `arn:aws:iam::${account}:role/drs-alerts-forward`;
        const assume = (context: Record<string, string>) =>
            decide({
                principal: "events.amazonaws.com",
                action: "sts:AssumeRole",
                resource: roleArn,
                resourceAccount: account,
                context,
                resourcePolicy: trust,
            });
        expect(await assume({ "aws:SourceArn": forward, "aws:SourceAccount": account })).to.equal("Allowed");
        expect(await assume({ "aws:SourceArn": ruleArn, "aws:SourceAccount": account })).to.equal("ImplicitlyDenied");
        expect(await assume({ "aws:SourceArn": forward.replace(account, otherAccount), "aws:SourceAccount": otherAccount })).to.equal(
            "ImplicitlyDenied",
        );
        expect(buildAlertForwardingPolicy({ accountId: account, region: "eu-west-1" }).Statement).to.deep.equal([
            {
                Sid: "PutEventsOnTheKeyRegionBus",
                Effect: "Allow",
                Action: "events:PutEvents",
                Resource: `arn:aws:events:eu-west-1:${account}:event-bus/default`,
            },
        ]);
    });
});

/** The rules, targets and roles of one DrsKeyLossAlerts, by the component's name. */
function alertsOf(registrations: Registration[], name: string) {
    const mine = registrations.filter((r) => r.name.startsWith(`${name}-`));
    const rules = mine.filter((r) => r.type === "aws:cloudwatch/eventRule:EventRule");
    const targets = mine.filter((r) => r.type === "aws:cloudwatch/eventTarget:EventTarget");
    const targetOf = (rule: Registration) => targets.filter((t) => t.inputs.rule === rule.state.name);
    return { rules, targets, targetOf, roles: mine.filter((r) => r.type === "aws:iam/role:Role") };
}

describe("drift alerts in the program", () => {
    const target = { accountId: "111122223333", keyUserRoleNames: ["R"] };
    const alertKinds = keyAlertKinds.map((k) => k.kind);

    it("watches each DRS key from its own account and Region: one rule per kind, each with its message, into an encrypted topic only they may publish to", async () => {
        const run = await runProgram({
            target,
            stagingAccounts: [
                { accountId: account, region: "us-east-1" },
                { accountId: account, region: "eu-west-1" },
            ],
        });
        const keys = byType(run.mocks, "aws:kms/key:Key");
        for (const region of ["us-east-1", "eu-west-1"]) {
            const name = `drs-${account}-${region}-alerts`;
            const drsKey = keys.find((k) => k.name === `drs-${account}-${region}-key-key`)!;
            const { rules, targetOf } = alertsOf(run.mocks.registrations, name);
            const expected = buildKeyAlerts({
                accountId: account,
                region,
                keyArn: drsKey.state.arn,
                keyId: drsKey.state.keyId,
                stagingRoleNames: [role],
            });
            const inRegion = rules.filter((r) => r.inputs.region === region);
            expect(inRegion.map((r) => r.account)).to.deep.equal(inRegion.map(() => account));
            const topic = byType(run.mocks, "aws:sns/topic:Topic").find((t) => t.name === `${name}-topic`)!;
            expect(topic.inputs.region).to.equal(region);
            expect(topic.inputs.kmsMasterKeyId).to.equal(keys.find((k) => k.name === `${name}-topic-key`)!.state.arn);
            // Each kind's rule: its pattern, and one target, the topic, with its sentence.
            expect(expected.map((a) => a.kind)).to.deep.equal(alertKinds);
            for (const alert of expected) {
                const rule = inRegion.find((r) => JSON.stringify(JSON.parse(r.inputs.eventPattern)) === JSON.stringify(alert.eventPattern));
                expect(rule, `${region} ${alert.kind}`).to.not.equal(undefined);
                expect(targetOf(rule!).map((t) => [t.inputs.arn, t.inputs.region, t.inputs.inputTransformer])).to.deep.equal([
                    [topic.state.arn, region, alert.message],
                ]);
            }
            expect(inRegion).to.have.length(expected.length);
            const topicPolicy = byType(run.mocks, "aws:sns/topicPolicy:TopicPolicy").find((p) => p.inputs.arn === topic.state.arn)!;
            expect(JSON.parse(topicPolicy.inputs.policy)).to.deep.equal(
                buildAlertTopicPolicy({ topicArn: topic.state.arn, accountId: account, ruleArns: inRegion.map((r) => r.state.arn) }),
            );
        }
        expect((run.outputs.stagingKeys as { alertTopicArn: string }[]).map((k) => k.alertTopicArn)).to.have.length(2);
    });

    it("forwards the staging role's IAM events from us-east-1 to a key in another Region, with a role only that rule may use", async () => {
        const run = await runProgram({ target, stagingAccounts: [{ accountId: account, region: "eu-west-1" }] });
        const name = `drs-${account}-eu-west-1-alerts`;
        const { rules, targetOf, roles } = alertsOf(run.mocks.registrations, name);
        const drsKey = byType(run.mocks, "aws:kms/key:Key").find((k) => k.name === `drs-${account}-eu-west-1-key-key`)!;
        const keyInput = {
            accountId: account,
            region: "eu-west-1",
            keyArn: drsKey.state.arn,
            keyId: drsKey.state.keyId,
            stagingRoleNames: [role],
        };
        const inUsEast1 = rules.filter((r) => r.inputs.region === "us-east-1");
        expect(inUsEast1.map((r) => r.name)).to.deep.equal([`${name}-forward`]);
        const [forward] = inUsEast1;
        expect(JSON.parse(forward.inputs.eventPattern)).to.deep.equal(buildKeyAlertEventPattern("staging-role-changed", keyInput));
        expect(roles.map((r) => r.inputs.name)).to.deep.equal([`${name}-forward`]);
        const [forwardRole] = roles;
        expect(targetOf(forward).map((t) => [t.inputs.region, t.inputs.arn, t.inputs.roleArn, t.inputs.inputTransformer])).to.deep.equal([
            ["us-east-1", `arn:aws:events:eu-west-1:${account}:event-bus/default`, forwardRole.state.arn, undefined],
        ]);
        expect(JSON.parse(forwardRole.inputs.assumeRolePolicy)).to.deep.equal(
            buildAlertForwardingTrustPolicy({ accountId: account, region: "eu-west-1", ruleArn: forward.state.arn }),
        );
        expect(forwardRole.inputs.inlinePolicies.map((p: { policy: string }) => JSON.parse(p.policy))).to.deep.equal([
            buildAlertForwardingPolicy({ accountId: account, region: "eu-west-1" }),
        ]);
        // In the key's Region the forwarded events raise the alert, to the key's topic.
        const roleRule = rules.find((r) => r.name === `${name}-roles`)!;
        expect(roleRule.inputs.region).to.equal("eu-west-1");
        expect(roleRule.inputs.eventPattern).to.equal(forward.inputs.eventPattern);
        const [{ alertTopicArn }] = run.outputs.stagingKeys as { alertTopicArn: string }[];
        expect(targetOf(roleRule).map((t) => t.inputs.arn)).to.deep.equal([alertTopicArn]);
    });

    it("makes nothing twice for a key in us-east-1: the staging role's alert is its own rule there, with no forwarding", async () => {
        const run = await runProgram({ target, stagingAccounts: [{ accountId: account, region: "us-east-1" }] });
        const { rules, roles } = alertsOf(run.mocks.registrations, `drs-${account}-us-east-1-alerts`);
        expect(rules.map((r) => r.inputs.region)).to.deep.equal(rules.map(() => "us-east-1"));
        expect(rules.map((r) => r.name.replace(`drs-${account}-us-east-1-alerts-`, "")).sort()).to.deep.equal(
            keyAlertKinds.map((k) => k.slug).sort(),
        );
        expect(roles).to.deep.equal([]);
        const patterns = rules.map((r) => r.inputs.eventPattern);
        expect(new Set(patterns).size).to.equal(patterns.length);
        expect(byType(run.mocks, "aws:cloudwatch/eventTarget:EventTarget").filter((t) => /event-bus/.test(t.inputs.arn))).to.deep.equal([]);
    });

    it("watches every staging role a key serves, with several targets", async () => {
        const run = await runProgram({
            targets: [
                { accountId: "111122223333", keyUserRoleNames: ["R"] },
                { accountId: "222233334444", keyUserRoleNames: ["R"] },
            ],
            stagingAccounts: [{ accountId: account, region: "us-east-1" }],
        });
        const { rules } = alertsOf(run.mocks.registrations, `drs-${account}-us-east-1-alerts`);
        const roleRule = rules.find((r) => r.name.endsWith("-roles"))!;
        expect(JSON.parse(roleRule.inputs.eventPattern).detail.requestParameters.roleName).to.deep.equal([
            "DRSStagingAccountRole_111122223333",
            "DRSStagingAccountRole_222233334444",
        ]);
    });

    it("delivers to an existing topic when one is given, creating no topic", async () => {
        const existing = `arn:aws:sns:eu-west-1:${account}:security-alerts`;
        const run = await runProgram({ target, stagingAccounts: [{ accountId: account, region: "eu-west-1", alertTopicArn: existing }] });
        expect(byType(run.mocks, "aws:sns/topic:Topic")).to.deep.equal([]);
        const targets = byType(run.mocks, "aws:cloudwatch/eventTarget:EventTarget");
        expect(targets.filter((t) => !t.name.endsWith("-forward-target")).map((t) => t.inputs.arn)).to.deep.equal(
            keyAlertKinds.map(() => existing),
        );
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

describe("DrsKeyLossAlerts on its own", () => {
    it("without staging roles makes no role rule; in aws-us-gov it leaves the roles unwatched and says so", async () => {
        const mocks = await installMocks();
        const warnings: string[] = [];
        const warn = pulumi.log.warn;
        (pulumi.log as { warn: (message: string) => Promise<void> }).warn = async (message: string) => void warnings.push(message);
        try {
            const gov = {
                accountId: account,
                region: "us-gov-west-1",
                keyArn: `arn:aws-us-gov:kms:us-gov-west-1:${account}:key/${keyId}`,
                keyId,
            };
            new DrsKeyLossAlerts("gov", { ...gov, stagingRoleNames: [role] });
            new DrsKeyLossAlerts("plain", { ...input, stagingRoleNames: undefined });
            await settle();
        } finally {
            (pulumi.log as { warn: typeof warn }).warn = warn;
        }
        for (const name of ["gov", "plain"]) {
            const { rules, roles } = alertsOf(mocks.registrations, name);
            expect(rules.map((r) => r.name).sort(), name).to.deep.equal(
                keyAlertKinds
                    .filter((k) => k.kind !== "staging-role-changed")
                    .map((k) => `${name}-${k.slug}`)
                    .sort(),
            );
            expect(roles, name).to.deep.equal([]);
        }
        expect(warnings).to.deep.equal([
            `The staging roles of ${account}/us-gov-west-1 are not watched: in the aws-us-gov partition the Region IAM's events ` +
                "reach EventBridge in is not confirmed, and EventBridge routes no events between its Regions.",
        ]);
    });
});
