import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { StagingRoleMode } from "./defaults";
import { Partition, buildStagingRoleTrustPolicy, drsStagingRoleManagedPolicyArn, drsStagingRoleName, drsStagingRolePath } from "./policies";

export interface DrsStagingRoleArgs {
    /** Required. The target (recovery) account; a plain value, as it names the role. */
    targetAccountId: string;
    /**
     * `create` (default) a new role; `import` adopt the role the DRS console created when the
     * trusted account was added (then managed here); `existing` only read it, never change it.
     */
    mode?: StagingRoleMode;
    /** The account's partition. Default `aws`. */
    partition?: Partition;
    /** Protect a created or imported role from deletion. Default true. */
    protect?: boolean;
}

/**
 * DRSStagingAccountRole_<target> in a staging account: DRS in the target account assumes it
 * to reach the staging area. Once per staging account, whatever the number of Regions.
 */
export class DrsStagingRole extends pulumi.ComponentResource {
    /** The role's ARN, for the key policy. */
    readonly roleArn: pulumi.Output<string>;
    /** AROA... ID; it changes when the role is replaced, and the key policy carries it. */
    readonly roleUniqueId: pulumi.Output<string>;
    /** DRSStagingAccountRole_<target>. */
    readonly roleName: pulumi.Output<string>;

    constructor(name: string, args: DrsStagingRoleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("drs-cross-account-kms:index:DrsStagingRole", name, {}, opts);
        const mode = args.mode ?? "create";
        const partition = args.partition ?? "aws";
        const roleName = drsStagingRoleName(args.targetAccountId);

        if (mode === "existing") {
            const role = aws.iam.getRoleOutput({ name: roleName }, { parent: this });
            this.roleArn = role.arn;
            this.roleUniqueId = role.uniqueId;
            this.roleName = role.name;
        } else {
            const adopt = mode === "import";
            const managedPolicyArn = drsStagingRoleManagedPolicyArn(partition);
            const role = new aws.iam.Role(
                `${name}-role`,
                {
                    name: roleName,
                    path: drsStagingRolePath,
                    description: `Lets AWS DRS in target account ${args.targetAccountId} use this staging account`,
                    assumeRolePolicy: JSON.stringify(buildStagingRoleTrustPolicy(partition, args.targetAccountId)),
                },
                // A replaced role silently invalidates every key policy naming it: protect it.
                { parent: this, protect: args.protect ?? true, import: adopt ? roleName : undefined },
            );
            new aws.iam.RolePolicyAttachment(
                `${name}-policy`,
                { role: role.name, policyArn: managedPolicyArn },
                { parent: this, import: adopt ? `${roleName}/${managedPolicyArn}` : undefined },
            );
            this.roleArn = role.arn;
            this.roleUniqueId = role.uniqueId;
            this.roleName = role.name;
        }
        this.registerOutputs({ roleArn: this.roleArn, roleUniqueId: this.roleUniqueId, roleName: this.roleName });
    }
}
