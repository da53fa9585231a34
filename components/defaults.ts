// Defaults and choices shared by the config parser and the components (which apply them for library users too).

/** Replication template settings: the guide's Step 3 values, and DRS's default PIT retention. */
export const replicationDefaults = {
    associateDefaultSecurityGroup: true,
    bandwidthThrottling: 0,
    createPublicIp: false,
    dataPlaneRouting: "PRIVATE_IP",
    defaultLargeStagingDiskType: "GP3",
    replicationServerInstanceType: "t3.small",
    useDedicatedReplicationServer: false,
    replicationServersSecurityGroupsIds: [] as string[],
    stagingAreaTags: {} as Record<string, string>,
    pitRetentionDays: 7,
};

/** Key settings: rotation on, the longest deletion window, protected from `pulumi destroy`. */
export const keyDefaults = {
    alias: "alias/drs-cross-account-ebs",
    description: "DRS EBS encryption key for cross-account recovery",
    deletionWindowInDays: 30,
    enableKeyRotation: true,
    protect: true,
    /** Keys and their aliases stay in AWS when they leave the stack. */
    retainOnDelete: true,
    /** New keys are single-Region unless asked; existing keys keep their kind. */
    multiRegion: false,
    // AWS's documented minimum (docs/aws-requirements.md, The statements DRS documents for multi-account recovery).
    targetAccess: "documented" as const,
};

export const programTags = { ManagedBy: "pulumi", Project: "drs-cross-account-kms" };

export const targetKeyUsePolicyName = "DrsCrossAccountKmsKeyUse";

/** `create` a new staging role, `import` (adopt) the one the DRS console made, or read an `existing` one. */
export const StagingRoleMode = { Create: "create", Import: "import", Existing: "existing" } as const;
export type StagingRoleMode = (typeof StagingRoleMode)[keyof typeof StagingRoleMode];
export const stagingRoleModes: readonly StagingRoleMode[] = Object.values(StagingRoleMode);

/** What a recovered instance does once launched (DRS launch settings). */
export const LaunchDisposition = { Stopped: "STOPPED", Started: "STARTED" } as const;
export type LaunchDisposition = (typeof LaunchDisposition)[keyof typeof LaunchDisposition];

/** How DRS picks the recovery instance type (DRS launch settings). */
export const RightSizingMethod = { None: "NONE", Basic: "BASIC", InAws: "IN_AWS" } as const;
export type RightSizingMethod = (typeof RightSizingMethod)[keyof typeof RightSizingMethod];
