import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { adoptionOptions } from "./adoption";
import { keyDefaults } from "./defaults";
import { TargetAccess, buildKeyPolicy, targetAccountTag } from "./policies";

/** A further target account a key serves, beside `targetAccountId`. */
export interface DrsKeyTargetArgs {
    /** Required. The further target (recovery) account, such as a drill account. */
    targetAccountId: pulumi.Input<string>;
    /** Required. ARN of DRSStagingAccountRole_<this target> in the key's account. */
    stagingRoleArn: pulumi.Input<string>;
    /** That staging role's unique ID; recommended, as for the first target. */
    stagingRoleUniqueId?: pulumi.Input<string>;
}

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
    /**
     * Further target accounts the key serves (a drill account beside the recovery account), each
     * with its own staging role and statements. Default none: the one-target key policy.
     */
    additionalTargets?: pulumi.Input<pulumi.Input<DrsKeyTargetArgs>[]>;
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
    /**
     * Keep the key and its alias in AWS when they leave the stack (an edited config, or
     * `pulumi destroy` once unprotected): the key is never deleted by the program. Default true.
     * Plain value.
     */
    retainOnDelete?: boolean;
    /**
     * Adopt this existing key (its key ID: a UUID or mrk-...) instead of creating one; it must be in
     * `region`, and `region` must then be a plain value. Its key policy is replaced by the
     * program's, its tags and rotation applied. A multi-Region replica also needs `primaryKeyArn`.
     */
    importKeyId?: string;
    /** Adopt the existing alias of the `alias` name with the key (it then points at this key). Default false. Plain value. */
    importAlias?: boolean;
    /** Create the key as a multi-Region primary. Default false. Plain value; KMS cannot change it on an existing key. */
    multiRegion?: boolean;
    /**
     * Make the key a replica of this multi-Region primary (created, or adopted with `importKeyId`).
     * A replica shares the primary's rotation: `enableKeyRotation` does not apply to it.
     */
    primaryKeyArn?: pulumi.Input<string>;
    /** Extra tags on the key, beside Purpose and TargetAccount (every target, space-separated). */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * A staging account's customer managed key for DRS EBS encryption, shared with the target
 * account (and any further targets), with its alias and key policy. One per staging account and Region: a single-Region
 * key, a multi-Region primary, or a replica of one, each with a key policy for its own Region.
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
        const additionalTargets = pulumi.output(args.additionalTargets ?? []);
        const policy = pulumi
            .all([
                args.stagingAccountId,
                args.targetAccountId,
                args.region,
                args.stagingRoleArn,
                args.stagingRoleUniqueId,
                args.targetAccess ?? keyDefaults.targetAccess,
                additionalTargets,
            ])
            .apply(([stagingAccountId, targetAccountId, region, stagingRoleArn, stagingRoleUniqueId, targetAccess, additional]) =>
                JSON.stringify(
                    buildKeyPolicy({
                        stagingAccountId,
                        targetAccountId,
                        region,
                        stagingRoleArn,
                        stagingRoleUniqueId,
                        targetAccess,
                        additionalTargets: additional,
                    }),
                ),
            );
        const tags = pulumi
            .all([args.tags ?? {}, args.targetAccountId, additionalTargets])
            .apply(([tags, targetAccountId, additional]) => ({
                ...tags,
                Purpose: "DRS-Cross-Account",
                TargetAccount: targetAccountTag([targetAccountId, ...additional.map((t) => t.targetAccountId)]),
            }));
        const keep = (importId: string | undefined): pulumi.CustomResourceOptions => ({
            parent: this,
            ...adoptionOptions({ importId: importId && importIdIn(args.region, importId), retainOnDelete: args.retainOnDelete }),
        });
        const common = {
            region: args.region,
            description: args.description ?? keyDefaults.description,
            deletionWindowInDays: args.deletionWindowInDays ?? keyDefaults.deletionWindowInDays,
            policy,
            tags,
        };
        // The provider retries CreateKey while IAM still refuses a just-created role as principal
        // (up to its create timeout), so the first `pulumi up` does not fail on propagation.
        const key =
            args.primaryKeyArn === undefined
                ? new aws.kms.Key(
                      `${name}-key`,
                      {
                          ...common,
                          keyUsage: "ENCRYPT_DECRYPT",
                          customerMasterKeySpec: "SYMMETRIC_DEFAULT",
                          multiRegion: args.multiRegion ?? false,
                          enableKeyRotation: args.enableKeyRotation ?? keyDefaults.enableKeyRotation,
                      },
                      // KMS cannot change multiRegion on an existing key: never replace one for it.
                      { ...keep(args.importKeyId), protect: args.protect ?? keyDefaults.protect, ignoreChanges: ["multiRegion"] },
                  )
                : new aws.kms.ReplicaKey(
                      `${name}-key`,
                      { ...common, primaryKeyArn: args.primaryKeyArn },
                      { ...keep(args.importKeyId), protect: args.protect ?? keyDefaults.protect },
                  );
        const alias = new aws.kms.Alias(
            `${name}-alias`,
            { region: args.region, name: args.alias ?? keyDefaults.alias, targetKeyId: key.keyId },
            keep(args.importAlias ? plainAlias(args.alias ?? keyDefaults.alias) : undefined),
        );
        this.keyArn = key.arn;
        this.keyId = key.keyId;
        this.aliasName = alias.name;
        this.aliasArn = alias.arn;
        this.registerOutputs({ keyArn: this.keyArn, keyId: this.keyId, aliasName: this.aliasName, aliasArn: this.aliasArn });
    }
}

/**
 * @pulumi/aws v7 adopts a resource of another Region than its provider's by the import ID with
 * `@<region>` (docs/aws-requirements.md, Multi-Region keys and adopting keys); the Region must be plain.
 */
function importIdIn(region: pulumi.Input<string>, id: string): string {
    if (typeof region !== "string") throw new Error(`DrsCrossAccountKey: region must be a plain value to adopt ${id}.`);
    return `${id}@${region}`;
}

function plainAlias(alias: pulumi.Input<string>): string {
    if (typeof alias !== "string") throw new Error("DrsCrossAccountKey: alias must be a plain value to adopt the existing alias.");
    return alias;
}
