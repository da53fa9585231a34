import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { keyDefaults } from "./defaults";
import { TargetAccess, buildTargetKeyUsePolicy, isServiceLinkedRole } from "./policies";

export interface DrsTargetKeyAccessArgs {
    /** Required. Exact ARNs of the staging keys (never a wildcard). */
    keyArns: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Names of the target roles that start recoveries and drills; the policy is attached to
     * each. Plain values. Service-linked roles are refused: IAM cannot attach to them.
     */
    roleNames?: string[];
    /** Must match the keys' `targetAccess`. Default `ebs-shared-snapshots`. */
    targetAccess?: pulumi.Input<TargetAccess>;
    /** The managed policy's name. Default: derived from the component name by Pulumi. */
    policyName?: pulumi.Input<string>;
}

/** Target account: a customer managed policy to use the staging keys, attached to named roles. */
export class DrsTargetKeyAccess extends pulumi.ComponentResource {
    readonly policyArn: pulumi.Output<string>;
    readonly attachedRoleNames: pulumi.Output<string[]>;

    constructor(name: string, args: DrsTargetKeyAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("drs-cross-account-kms:target:DrsTargetKeyAccess", name, {}, opts);
        const roleNames = args.roleNames ?? [];
        const refused = roleNames.filter(isServiceLinkedRole);
        if (refused.length > 0) {
            throw new Error(
                `DrsTargetKeyAccess "${name}": ${refused.join(", ")} ${refused.length === 1 ? "is a" : "are"} service-linked ` +
                    `role${refused.length === 1 ? "" : "s"}; IAM rejects any policy attached to one (UnmodifiableEntity). ` +
                    `Name the roles that start recoveries and drills instead.`,
            );
        }
        const policy = new aws.iam.Policy(
            `${name}-policy`,
            {
                name: args.policyName,
                description: "Use of the DRS staging accounts' EBS keys through EC2, for cross-account recovery",
                policy: pulumi
                    .all([args.keyArns, args.targetAccess ?? keyDefaults.targetAccess])
                    .apply(([keyArns, targetAccess]) => JSON.stringify(buildTargetKeyUsePolicy({ keyArns, targetAccess }))),
            },
            { parent: this },
        );
        for (const roleName of roleNames) {
            new aws.iam.RolePolicyAttachment(`${name}-${roleName}`, { role: roleName, policyArn: policy.arn }, { parent: this });
        }
        this.policyArn = policy.arn;
        this.attachedRoleNames = pulumi.output(roleNames);
        this.registerOutputs({ policyArn: this.policyArn, attachedRoleNames: this.attachedRoleNames });
    }
}
