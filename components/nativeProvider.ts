import * as awsnative from "@pulumi/aws-native";
import * as pulumi from "@pulumi/pulumi";
import { programTags } from "./defaults";
import { AccountProviderArgs } from "./providers";

/**
 * An aws-native provider for one account and Region, built from the same account settings as
 * the aws provider (same role, same allowed account). aws-native has no per-resource Region,
 * so there is one per Region used.
 */
export function nativeAccountProvider(name: string, args: AccountProviderArgs, opts?: pulumi.ResourceOptions): awsnative.Provider {
    return new awsnative.Provider(
        name,
        {
            region: args.region as awsnative.Region,
            allowedAccountIds: [args.accountId],
            profile: args.profile,
            assumeRole: args.roleArn ? { roleArn: args.roleArn, sessionName: "drs-cross-account-kms" } : undefined,
            defaultTags: { tags: { ...programTags, ...args.tags } },
        },
        opts,
    );
}
