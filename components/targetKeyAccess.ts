import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { keyDefaults } from "./defaults";
import {
    TargetAccess,
    buildTargetKeyUsePolicy,
    isIdentityCenterRole,
    isServiceLinkedRole,
    limits,
    planTargetKeyUsePolicies,
    targetKeyUsePolicyNames,
} from "./policies";

/** A staging key the target may use. Account and Region are plain: they decide the policy split. */
export interface DrsTargetKey {
    /** Required. The staging account that owns the key. */
    accountId: string;
    /** Required. The key's Region. */
    region: string;
    /** Required. The key's exact ARN. */
    keyArn: pulumi.Input<string>;
}

export interface DrsTargetKeyAccessArgs {
    /** Required. The staging keys; at least one. */
    keys: DrsTargetKey[];
    /**
     * Names of the target roles that start recoveries and drills; every policy is attached to
     * each. Plain values. Service-linked roles and IAM Identity Center roles are refused: IAM cannot
     * attach to them (use DrsPermissionSetKeyAccess for Identity Center).
     */
    roleNames?: string[];
    /** Must match the keys' `targetAccess`. Default `documented`. Plain value. */
    targetAccess?: TargetAccess;
    /**
     * Name of the managed policy; further ones (a large fleet) get -2, -3, ... Default: Pulumi's
     * auto-name. Set it when permission sets reference the policies (they reference by name).
     */
    policyName?: string;
    /** Managed policies a role may hold (IAM quota). Default 10. */
    maxPoliciesPerRole?: number;
}

/**
 * Target account: customer managed policies to use the staging keys, attached to named roles.
 * One policy holds about 36 keys; a larger fleet is split over several, each on exact key ARNs.
 */
export class DrsTargetKeyAccess extends pulumi.ComponentResource {
    /** The key-use policies (one per about 36 keys). */
    readonly policyArns: pulumi.Output<string[]>;
    /** The key-use policies' names. */
    readonly policyNames: pulumi.Output<string[]>;
    /** The roles every policy is attached to. */
    readonly attachedRoleNames: pulumi.Output<string[]>;

    constructor(name: string, args: DrsTargetKeyAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("drs-cross-account-kms:index:DrsTargetKeyAccess", name, {}, opts);
        const roleNames = args.roleNames ?? [];
        const serviceLinked = roleNames.filter(isServiceLinkedRole);
        if (serviceLinked.length > 0) {
            throw new Error(
                `DrsTargetKeyAccess "${name}": ${serviceLinked.join(", ")} ${serviceLinked.length === 1 ? "is a" : "are"} service-linked ` +
                    `role${serviceLinked.length === 1 ? "" : "s"}; IAM rejects any policy attached to one (UnmodifiableEntity). ` +
                    `Name the roles that start recoveries and drills instead.`,
            );
        }
        const identityCenter = roleNames.filter(isIdentityCenterRole);
        if (identityCenter.length > 0) {
            throw new Error(
                `DrsTargetKeyAccess "${name}": ${identityCenter.join(", ")} ${identityCenter.length === 1 ? "is a role" : "are roles"} ` +
                    `of IAM Identity Center, which IAM does not let you change. Attach the key-use policies to the permission set ` +
                    `instead (DrsPermissionSetKeyAccess).`,
            );
        }
        const targetAccess = args.targetAccess ?? keyDefaults.targetAccess;
        const maxPolicies = args.maxPoliciesPerRole ?? limits.managedPoliciesPerRole;
        const plan = planTargetKeyUsePolicies({ keys: args.keys, targetAccess, maxPolicies });
        if (plan.length > maxPolicies / 2 && roleNames.length > 0) {
            pulumi.log.warn(
                `${args.keys.length} keys need ${plan.length} key-use policies, attached to each of ${roleNames.join(", ")}: ` +
                    `a role holds at most ${maxPolicies} managed policies, including any other policy attached to it.`,
                this,
            );
        }
        const fixedNames = args.policyName === undefined ? undefined : targetKeyUsePolicyNames(args.policyName, plan.length);
        const policies = plan.map((indexes, i) => {
            const suffix = i === 0 ? "" : `-${i + 1}`;
            return new aws.iam.Policy(
                `${name}-policy${suffix}`,
                {
                    name: fixedNames?.[i],
                    description: "Use of the DRS staging accounts' EBS keys through EC2, for cross-account recovery",
                    policy: pulumi
                        .all(indexes.map((k) => args.keys[k].keyArn))
                        .apply((keyArns) => JSON.stringify(buildTargetKeyUsePolicy({ keyArns, targetAccess }))),
                },
                { parent: this },
            );
        });
        for (const roleName of roleNames) {
            policies.forEach((policy, i) => {
                const suffix = i === 0 ? "" : `-${i + 1}`;
                new aws.iam.RolePolicyAttachment(
                    `${name}-${roleName}${suffix}`,
                    { role: roleName, policyArn: policy.arn },
                    { parent: this },
                );
            });
        }
        this.policyArns = pulumi.all(policies.map((p) => p.arn));
        this.policyNames = pulumi.all(policies.map((p) => p.name));
        this.attachedRoleNames = pulumi.output(roleNames);
        this.registerOutputs({ policyArns: this.policyArns, policyNames: this.policyNames, attachedRoleNames: this.attachedRoleNames });
    }
}
