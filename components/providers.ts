import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { programTags } from "./defaults";

export interface AccountProviderArgs {
    /** The account every resource of this provider must land in (allowedAccountIds). */
    accountId: string;
    /** The provider's default Region; resources set their own with the v7 `region` argument. */
    region: string;
    /** A role in that account to assume; omitted, the ambient credentials (or the profile's) are used as they are. */
    roleArn?: string;
    /** A profile of the AWS config files (an IAM Identity Center one, say) to sign in with instead of the ambient credentials; with roleArn, the role is assumed from it. */
    profile?: string;
    /** Default tags on every resource the provider creates, beside the program's own. */
    tags?: Record<string, string>;
}

/**
 * One explicit provider per account. `allowedAccountIds` makes the provider refuse to run
 * with credentials for any other account, so a resource can never land in the wrong one.
 */
export function accountProvider(name: string, args: AccountProviderArgs, opts?: pulumi.ResourceOptions): aws.Provider {
    return new aws.Provider(
        name,
        {
            region: args.region as aws.Region,
            allowedAccountIds: [args.accountId],
            profile: args.profile,
            assumeRoles: args.roleArn ? [{ roleArn: args.roleArn, sessionName: "drs-cross-account-kms" }] : undefined,
            defaultTags: { tags: { ...programTags, ...args.tags } },
        },
        opts,
    );
}
