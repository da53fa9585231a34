import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface DrsPermissionSetKeyAccessArgs {
    /** Required. The IAM Identity Center instance (arn:aws:sso:::instance/ssoins-...). */
    instanceArn: string;
    /** Required. The permission sets that run recoveries and drills; each gets every key-use policy. Plain values. */
    permissionSetArns: string[];
    /**
     * Required. Names of the target account's key-use policies (DrsTargetKeyAccess with a fixed
     * `policyName`: `name`, `name-2`, ...). Plain values: a permission set names each policy.
     */
    policyNames: string[];
    /** The policies' IAM path. Default `/`. */
    policyPath?: string;
}

/**
 * IAM Identity Center: the target's key-use policies referenced by permission sets, for people who
 * sign in through Identity Center (their AWSReservedSSO_ roles cannot be changed directly). Use
 * with a provider for the account that administers the instance. A permission set is provisioned
 * with policies of these names, which must exist in every account it reaches: provision it only to
 * the target account, after the target stack has created the policies.
 */
export class DrsPermissionSetKeyAccess extends pulumi.ComponentResource {
    /** The permission sets that reference the key-use policies. */
    readonly permissionSetArns: pulumi.Output<string[]>;

    constructor(name: string, args: DrsPermissionSetKeyAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("drs-cross-account-kms:index:DrsPermissionSetKeyAccess", name, {}, opts);
        const path = args.policyPath ?? "/";
        for (const permissionSetArn of args.permissionSetArns) {
            // Named by the permission set's ID, so reordering the list replaces nothing.
            const permissionSetId = permissionSetArn.split("/").pop();
            for (const policyName of args.policyNames) {
                new aws.ssoadmin.CustomerManagedPolicyAttachment(
                    `${name}-${permissionSetId}-${policyName}`,
                    { instanceArn: args.instanceArn, permissionSetArn, customerManagedPolicyReference: { name: policyName, path } },
                    { parent: this },
                );
            }
        }
        this.permissionSetArns = pulumi.output(args.permissionSetArns);
        this.registerOutputs({ permissionSetArns: this.permissionSetArns });
    }
}
