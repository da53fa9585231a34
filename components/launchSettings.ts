import * as awsnative from "@pulumi/aws-native";
import * as pulumi from "@pulumi/pulumi";
import { adoptionOptions } from "./adoption";
import { LaunchDisposition, RightSizingMethod } from "./defaults";

export interface DrsLaunchSettingsArgs {
    /** Give the recovery instance the source server's private IP. Default: DRS's (false). */
    copyPrivateIp?: pulumi.Input<boolean>;
    /** Copy the source server's tags to the recovery instance. Default: DRS's (true). */
    copyTags?: pulumi.Input<boolean>;
    /** STOPPED or STARTED after launch. Default: DRS's (STARTED). */
    launchDisposition?: pulumi.Input<LaunchDisposition>;
    /** Launch drills and recoveries into the source instance's ID when failing back. Default: DRS's. */
    launchIntoSourceInstance?: pulumi.Input<boolean>;
    /** Bring your own OS license (BYOL) instead of AWS-provided licensing. Default: DRS's (false). */
    osByol?: pulumi.Input<boolean>;
    /** NONE, BASIC or IN_AWS right-sizing of the recovery instance type. Default: DRS's (BASIC). */
    targetInstanceTypeRightSizingMethod?: pulumi.Input<RightSizingMethod>;
    /** Run the post-launch actions (SSM documents) after launch. Default: DRS's. */
    postLaunchEnabled?: pulumi.Input<boolean>;
    /** S3 bucket (ARN) to export source network templates to. */
    exportBucketArn?: pulumi.Input<string>;
    /** Adopt this existing launch configuration template (lct-...) instead of creating one. Plain value. */
    importTemplateId?: string;
    /** Keep the template in AWS when it leaves the stack, adopted or not. Default true. Plain value. */
    retainOnDelete?: boolean;
}

/**
 * The target account's DRS launch settings in one Region, which extended source servers launch
 * with. @pulumi/aws has no resource for them; this uses @pulumi/aws-native (CloudFormation's
 * AWS::DRS::LaunchConfigurationTemplate), whose provider has no per-resource Region: pass an
 * aws-native provider for the target account and this Region.
 */
export class DrsLaunchSettings extends pulumi.ComponentResource {
    /** The launch configuration template's ID (lct-...). */
    readonly templateId: pulumi.Output<string>;
    /** The launch configuration template's ARN. */
    readonly templateArn: pulumi.Output<string>;

    constructor(name: string, args: DrsLaunchSettingsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("drs-cross-account-kms:index:DrsLaunchSettings", name, {}, opts);
        const template = new awsnative.drs.LaunchConfigurationTemplate(
            `${name}-template`,
            {
                copyPrivateIp: args.copyPrivateIp,
                copyTags: args.copyTags,
                launchDisposition: args.launchDisposition,
                launchIntoSourceInstance: args.launchIntoSourceInstance,
                licensing: args.osByol === undefined ? undefined : { osByol: args.osByol },
                targetInstanceTypeRightSizingMethod: args.targetInstanceTypeRightSizingMethod,
                postLaunchEnabled: args.postLaunchEnabled,
                exportBucketArn: args.exportBucketArn,
            },
            { parent: this, ...adoptionOptions({ importId: args.importTemplateId, retainOnDelete: args.retainOnDelete }) },
        );
        this.templateId = template.launchConfigurationTemplateId;
        this.templateArn = template.arn;
        this.registerOutputs({ templateId: this.templateId, templateArn: this.templateArn });
    }
}
