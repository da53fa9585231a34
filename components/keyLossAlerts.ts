import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
    buildAlertForwardingPolicy,
    buildAlertForwardingTrustPolicy,
    buildAlertTopicKeyPolicy,
    buildAlertTopicPolicy,
    buildKeyAlertEventPattern,
    buildKeyAlertMessage,
    defaultEventBusArn,
    iamEventsRegion,
    KeyAlertInput,
    keyAlertKindsFor,
    partitionOf,
} from "./policies";

export interface DrsKeyLossAlertsArgs {
    /** Required. The staging account (the provider's account). Plain value. */
    accountId: string;
    /** Required. The key's Region: CloudTrail events reach EventBridge in the Region of the call. Plain value. */
    region: string;
    /** Required. The DRS key's ARN. */
    keyArn: pulumi.Input<string>;
    /** Required. The DRS key's ID. */
    keyId: pulumi.Input<string>;
    /**
     * An existing SNS topic in the same account and Region to deliver to. Default: a topic is
     * created, encrypted with a key of its own, that only these rules may publish to. An existing
     * topic must allow events.amazonaws.com to publish (and, if encrypted, to use its key).
     */
    topicArn?: pulumi.Input<string>;
    /**
     * The DRS staging roles the key serves (`DRSStagingAccountRole_<target>`, the DrsStagingRole's
     * roleName): alerts when one is deleted, loses a policy or gets another trust policy. IAM's
     * events reach EventBridge in us-east-1 only: for a key in another Region a rule there forwards
     * them to the key's Region (with a role named `<name>-forward`), so every alert reaches the one
     * topic. Not watched in aws-cn and aws-us-gov (a warning). Default: none.
     */
    stagingRoleNames?: pulumi.Input<string>[];
}

/**
 * Alerts when the chain from a source server to a recovery drifts: the DRS key disabled, scheduled
 * for deletion, its policy replaced or a grant on it removed; DRS replication settings or templates
 * changed in the key's account and Region; a staging role deleted or changed. One EventBridge rule
 * per kind of change, on the CloudTrail management events, delivered to an SNS topic with a
 * message that says what happened and the fix. CloudTrail must record management events in the
 * account (a trail with management events on, in every Region watched); without them EventBridge
 * receives nothing to match.
 */
export class DrsKeyLossAlerts extends pulumi.ComponentResource {
    /** The SNS topic the alerts go to: subscribe people or a pager to it. */
    readonly topicArn: pulumi.Output<string>;
    /** The EventBridge rules that publish to the topic, one per kind of alert, in the key's Region. */
    readonly ruleArns: pulumi.Output<string[]>;

    constructor(name: string, args: DrsKeyLossAlertsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("drs-cross-account-kms:index:DrsKeyLossAlerts", name, {}, opts);
        const { accountId, region } = args;
        const iamRegion = iamEventsRegion(partitionOf(region));
        const roleNames = args.stagingRoleNames ?? [];
        if (roleNames.length > 0 && !iamRegion)
            pulumi.log.warn(
                `The staging roles of ${accountId}/${region} are not watched: in the ${partitionOf(region)} partition the Region ` +
                    "IAM's events reach EventBridge in is not confirmed, and EventBridge routes no events between its Regions.",
                this,
            );
        const watchRoles = roleNames.length > 0 && iamRegion !== undefined;
        const input = pulumi
            .all([args.keyArn, args.keyId, pulumi.all(roleNames)])
            .apply(([keyArn, keyId, stagingRoleNames]) => ({ accountId, region, keyArn, keyId, stagingRoleNames }));

        // One rule per kind: an input transformer says one sentence, so each kind has its own target.
        const rules = keyAlertKindsFor(watchRoles).map(({ kind, slug, description }) => ({
            kind,
            slug,
            rule: new aws.cloudwatch.EventRule(
                `${name}-${slug}`,
                { region, description, eventPattern: input.apply((i) => JSON.stringify(buildKeyAlertEventPattern(kind, i))) },
                { parent: this },
            ),
        }));
        const ruleArns = pulumi.all(rules.map(({ rule }) => rule.arn));
        const topicArn = args.topicArn ? pulumi.output(args.topicArn) : this.createTopic(name, args, ruleArns);
        for (const { kind, slug, rule } of rules) {
            const message = input.apply((i) => buildKeyAlertMessage(kind, i));
            new aws.cloudwatch.EventTarget(
                `${name}-${slug}-target`,
                { region, rule: rule.name, arn: topicArn, inputTransformer: message },
                { parent: this },
            );
        }
        // IAM's events arrive in us-east-1 only, and an SNS target must be in its rule's Region: a
        // rule there sends them on to the key Region's default bus, where staging-role-changed
        // matches them like any event, so the message and the topic stay those of the key. A key in
        // us-east-1 has its roles rule there already: forwarding would send each alert twice.
        if (watchRoles && iamRegion !== region) this.forwardIamEvents(name, args, iamRegion!, input);
        this.topicArn = topicArn;
        this.ruleArns = ruleArns;
        this.registerOutputs({ topicArn: this.topicArn, ruleArns: this.ruleArns });
    }

    private forwardIamEvents(name: string, args: DrsKeyLossAlertsArgs, iamRegion: string, input: pulumi.Output<KeyAlertInput>): void {
        const { accountId, region } = args;
        const rule = new aws.cloudwatch.EventRule(
            `${name}-forward`,
            {
                region: iamRegion,
                description: `DRS staging roles deleted or changed: to ${region}, where the alert is sent`,
                eventPattern: input.apply((i) => JSON.stringify(buildKeyAlertEventPattern("staging-role-changed", i))),
            },
            { parent: this },
        );
        const role = new aws.iam.Role(
            `${name}-forward-role`,
            {
                // Named after the component (one per key), so the offline plan knows its ARN.
                name: `${name}-forward`,
                description: `Lets EventBridge send IAM events on the DRS staging roles from ${iamRegion} to ${region}`,
                assumeRolePolicy: rule.arn.apply((ruleArn) =>
                    JSON.stringify(buildAlertForwardingTrustPolicy({ accountId, region, ruleArn })),
                ),
                inlinePolicies: [
                    { name: "PutEventsOnTheKeyRegionBus", policy: JSON.stringify(buildAlertForwardingPolicy({ accountId, region })) },
                ],
            },
            { parent: this },
        );
        new aws.cloudwatch.EventTarget(
            `${name}-forward-target`,
            { region: iamRegion, rule: rule.name, arn: defaultEventBusArn(accountId, region), roleArn: role.arn },
            { parent: this },
        );
    }

    private createTopic(name: string, args: DrsKeyLossAlertsArgs, ruleArns: pulumi.Output<string[]>): pulumi.Output<string> {
        const { accountId, region } = args;
        const key = new aws.kms.Key(
            `${name}-topic-key`,
            {
                region,
                description: "Encrypts the DRS key-loss alert topic",
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                policy: JSON.stringify(buildAlertTopicKeyPolicy({ accountId, region })),
            },
            { parent: this },
        );
        const topic = new aws.sns.Topic(`${name}-topic`, { region, kmsMasterKeyId: key.arn }, { parent: this });
        new aws.sns.TopicPolicy(
            `${name}-topic-policy`,
            {
                region,
                arn: topic.arn,
                policy: pulumi
                    .all([topic.arn, ruleArns])
                    .apply(([topicArn, rules]) => JSON.stringify(buildAlertTopicPolicy({ topicArn, accountId, ruleArns: rules }))),
            },
            { parent: this },
        );
        return topic.arn;
    }
}
