import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { adoptionOptions } from "./adoption";
import { replicationDefaults } from "./defaults";

export interface DrsReplicationTemplateArgs {
    /** Required. The staging Region (the key's Region). */
    region: pulumi.Input<string>;
    /**
     * Required. ARN of the customer managed key for the staging disks of servers added later.
     * Servers already replicating keep their own settings (see the align-servers command).
     */
    ebsEncryptionKeyArn: pulumi.Input<string>;
    /** Required. Subnet for the replication servers and staging disks. */
    stagingAreaSubnetId: pulumi.Input<string>;
    /** Default true. */
    associateDefaultSecurityGroup?: pulumi.Input<boolean>;
    /** Mbps; 0 (default) means no throttling. */
    bandwidthThrottling?: pulumi.Input<number>;
    /** Default false. */
    createPublicIp?: pulumi.Input<boolean>;
    /** PRIVATE_IP (default) or PUBLIC_IP. */
    dataPlaneRouting?: pulumi.Input<string>;
    /** GP2, GP3 (default), ST1 or AUTO. */
    defaultLargeStagingDiskType?: pulumi.Input<string>;
    /** Default t3.small. */
    replicationServerInstanceType?: pulumi.Input<string>;
    /** Default false. */
    useDedicatedReplicationServer?: pulumi.Input<boolean>;
    /** Default none. */
    replicationServersSecurityGroupsIds?: pulumi.Input<pulumi.Input<string>[]>;
    /** Tags on the staging resources DRS creates. Default none. */
    stagingAreaTags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Days to keep the daily point-in-time snapshots (1 to 365). Default 7. */
    pitRetentionDays?: pulumi.Input<number>;
    /** Replicate disks added to a source server later. Default: DRS's own. */
    autoReplicateNewDisks?: pulumi.Input<boolean>;
    /**
     * Adopt this existing template (rct-...) instead of creating one: an account where DRS was
     * initialised already has one, and DRS allows only one. Plain value.
     */
    importTemplateId?: string;
    /**
     * Keep the template in AWS when it leaves the stack, adopted or not: it holds the defaults
     * for servers added later. Default true. Plain value.
     */
    retainOnDelete?: boolean;
}

/**
 * The DRS replication configuration template of a staging account and Region, using the key: the
 * default settings of servers added later. Each server already replicating has its own settings.
 */
export class DrsReplicationTemplate extends pulumi.ComponentResource {
    /** The template's ID (rct-...). */
    readonly templateId: pulumi.Output<string>;
    /** The template's ARN. */
    readonly templateArn: pulumi.Output<string>;

    constructor(name: string, args: DrsReplicationTemplateArgs, opts?: pulumi.ComponentResourceOptions) {
        super("drs-cross-account-kms:index:DrsReplicationTemplate", name, {}, opts);
        const d = replicationDefaults;
        const template = new aws.drs.ReplicationConfigurationTemplate(
            `${name}-template`,
            {
                region: args.region,
                ebsEncryption: "CUSTOM",
                ebsEncryptionKeyArn: args.ebsEncryptionKeyArn,
                stagingAreaSubnetId: args.stagingAreaSubnetId,
                associateDefaultSecurityGroup: args.associateDefaultSecurityGroup ?? d.associateDefaultSecurityGroup,
                bandwidthThrottling: args.bandwidthThrottling ?? d.bandwidthThrottling,
                createPublicIp: args.createPublicIp ?? d.createPublicIp,
                dataPlaneRouting: args.dataPlaneRouting ?? d.dataPlaneRouting,
                defaultLargeStagingDiskType: args.defaultLargeStagingDiskType ?? d.defaultLargeStagingDiskType,
                replicationServerInstanceType: args.replicationServerInstanceType ?? d.replicationServerInstanceType,
                useDedicatedReplicationServer: args.useDedicatedReplicationServer ?? d.useDedicatedReplicationServer,
                replicationServersSecurityGroupsIds: args.replicationServersSecurityGroupsIds ?? d.replicationServersSecurityGroupsIds,
                // As an Output: the SDK prints a plain input with `${value}`, which throws for tags without a
                // prototype, or with a tag named toString or valueOf.
                stagingAreaTags: pulumi.output(args.stagingAreaTags ?? d.stagingAreaTags),
                autoReplicateNewDisks: args.autoReplicateNewDisks,
                pitPolicies: pitPolicies(args.pitRetentionDays ?? d.pitRetentionDays),
            },
            { parent: this, ...adoptionOptions({ importId: args.importTemplateId, retainOnDelete: args.retainOnDelete }) },
        );
        this.templateId = template.id;
        this.templateArn = template.arn;
        this.registerOutputs({ templateId: this.templateId, templateArn: this.templateArn });
    }
}

/** DRS accepts only its default PIT rules; the daily rule's retention is the one choice. */
function pitPolicies(retentionDays: pulumi.Input<number>): aws.types.input.drs.ReplicationConfigurationTemplatePitPolicy[] {
    return [
        { ruleId: 1, enabled: true, units: "MINUTE", interval: 10, retentionDuration: 60 },
        { ruleId: 2, enabled: true, units: "HOUR", interval: 1, retentionDuration: 24 },
        { ruleId: 3, enabled: true, units: "DAY", interval: 1, retentionDuration: retentionDays },
    ];
}
