import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { buildAlertTopicKeyPolicy, buildAlertTopicPolicy, buildKeyAlertEventPattern } from "./policies";

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
}

/**
 * Alerts when somebody disables a DRS key, schedules its deletion or replaces its policy: an
 * EventBridge rule on the CloudTrail management events, delivered to an SNS topic.
 * CloudTrail must record management events in the account and Region (a trail with management
 * events on); without them EventBridge receives nothing to match.
 */
export class DrsKeyLossAlerts extends pulumi.ComponentResource {
    /** The SNS topic the alerts go to: subscribe people or a pager to it. */
    readonly topicArn: pulumi.Output<string>;
    /** The EventBridge rule that matches the key's key-loss events. */
    readonly ruleArn: pulumi.Output<string>;

    constructor(name: string, args: DrsKeyLossAlertsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("drs-cross-account-kms:index:DrsKeyLossAlerts", name, {}, opts);
        const { region } = args;
        const rule = new aws.cloudwatch.EventRule(
            `${name}-rule`,
            {
                region,
                description: "DRS key disabled, scheduled for deletion, or its policy replaced",
                eventPattern: pulumi
                    .all([args.keyArn, args.keyId])
                    .apply(([keyArn, keyId]) => JSON.stringify(buildKeyAlertEventPattern({ keyArn, keyId }))),
            },
            { parent: this },
        );
        const topicArn = args.topicArn ? pulumi.output(args.topicArn) : this.createTopic(name, args, rule.arn);
        new aws.cloudwatch.EventTarget(`${name}-target`, { region, rule: rule.name, arn: topicArn }, { parent: this });
        this.topicArn = topicArn;
        this.ruleArn = rule.arn;
        this.registerOutputs({ topicArn: this.topicArn, ruleArn: this.ruleArn });
    }

    private createTopic(name: string, args: DrsKeyLossAlertsArgs, ruleArn: pulumi.Output<string>): pulumi.Output<string> {
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
                    .all([topic.arn, ruleArn])
                    .apply(([topicArn, rule]) => JSON.stringify(buildAlertTopicPolicy({ topicArn, accountId, ruleArns: [rule] }))),
            },
            { parent: this },
        );
        return topic.arn;
    }
}
