import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { keyDefaults } from "./defaults";
import { TargetAccess, buildKeyPolicy } from "./policies";

export interface DrsCrossAccountKeyArgs {
    /** Required. The account that owns the key (the provider's account). */
    stagingAccountId: pulumi.Input<string>;
    /** Required. The account that recovers the staging account's servers. */
    targetAccountId: pulumi.Input<string>;
    /** Required. The key's Region, where DRS replicates and recovers. */
    region: pulumi.Input<string>;
    /** Required. ARN of DRSStagingAccountRole_<target> (see DrsStagingRole). */
    stagingRoleArn: pulumi.Input<string>;
    /** The staging role's unique ID; recommended, so a replaced role updates the key policy. */
    stagingRoleUniqueId?: pulumi.Input<string>;
    /** `documented` (default: what the DRS page lists) or `ebs-shared-snapshots`; see the README. */
    targetAccess?: pulumi.Input<TargetAccess>;
    /** Default `alias/drs-cross-account-ebs`. */
    alias?: pulumi.Input<string>;
    /** Default "DRS EBS encryption key for cross-account recovery". */
    description?: pulumi.Input<string>;
    /** Days between scheduling deletion and deletion, 7 to 30. Default 30. */
    deletionWindowInDays?: pulumi.Input<number>;
    /** Default true. */
    enableKeyRotation?: pulumi.Input<boolean>;
    /** Protect the key from `pulumi destroy` and replacement. Default true; a plain value. */
    protect?: boolean;
    /** Extra tags on the key, beside Purpose and TargetAccount. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * A staging account's customer managed key for DRS EBS encryption, shared with the target
 * account, with its alias and key policy. One per staging account and Region.
 */
export class DrsCrossAccountKey extends pulumi.ComponentResource {
    /** The key's ARN: for the replication template and the target's key-use policy. */
    readonly keyArn: pulumi.Output<string>;
    /** The key's ID. */
    readonly keyId: pulumi.Output<string>;
    /** The alias, such as alias/drs-cross-account-ebs. */
    readonly aliasName: pulumi.Output<string>;
    /** The alias's ARN. */
    readonly aliasArn: pulumi.Output<string>;

    constructor(name: string, args: DrsCrossAccountKeyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("drs-cross-account-kms:index:DrsCrossAccountKey", name, {}, opts);
        const policy = pulumi
            .all([
                args.stagingAccountId,
                args.targetAccountId,
                args.region,
                args.stagingRoleArn,
                args.stagingRoleUniqueId,
                args.targetAccess ?? keyDefaults.targetAccess,
            ])
            .apply(([stagingAccountId, targetAccountId, region, stagingRoleArn, stagingRoleUniqueId, targetAccess]) =>
                JSON.stringify(
                    buildKeyPolicy({ stagingAccountId, targetAccountId, region, stagingRoleArn, stagingRoleUniqueId, targetAccess }),
                ),
            );
        // The provider retries CreateKey while IAM still refuses a just-created role as principal
        // (up to its create timeout), so the first `pulumi up` does not fail on propagation.
        const key = new aws.kms.Key(
            `${name}-key`,
            {
                region: args.region,
                description: args.description ?? keyDefaults.description,
                keyUsage: "ENCRYPT_DECRYPT",
                customerMasterKeySpec: "SYMMETRIC_DEFAULT",
                enableKeyRotation: args.enableKeyRotation ?? keyDefaults.enableKeyRotation,
                deletionWindowInDays: args.deletionWindowInDays ?? keyDefaults.deletionWindowInDays,
                policy,
                tags: pulumi
                    .all([args.tags ?? {}, args.targetAccountId])
                    .apply(([tags, targetAccountId]) => ({ ...tags, Purpose: "DRS-Cross-Account", TargetAccount: targetAccountId })),
            },
            { parent: this, protect: args.protect ?? keyDefaults.protect },
        );
        const alias = new aws.kms.Alias(
            `${name}-alias`,
            { region: args.region, name: args.alias ?? keyDefaults.alias, targetKeyId: key.keyId },
            { parent: this },
        );
        this.keyArn = key.arn;
        this.keyId = key.keyId;
        this.aliasName = alias.name;
        this.aliasArn = alias.arn;
        this.registerOutputs({ keyArn: this.keyArn, keyId: this.keyId, aliasName: this.aliasName, aliasArn: this.aliasArn });
    }
}
