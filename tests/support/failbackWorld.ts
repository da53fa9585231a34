// The way back's accounts, mocked: a stack whose staging entry fails back to an origin account of
// its own (sourceAccount, where the EC2 sources ran), with DRS initialised there, a template on a
// customer managed key whose policy serves the origin's DRS, and DRS's roles in both directions.
import { DescribeReplicationConfigurationTemplatesCommand, DrsClient } from "@aws-sdk/client-drs";
import {
    GetRoleCommand,
    ListAttachedRolePoliciesCommand,
    ListEntitiesForPolicyCommand,
    ListRolePoliciesCommand,
} from "@aws-sdk/client-iam";
import { DescribeKeyCommand, GetKeyPolicyCommand, KMSClient } from "@aws-sdk/client-kms";
import { parseConfig } from "../../config";
import { PolicyDocument, buildKeyPolicy, drsSourceNetworkRoleName } from "../../components/policies";
import {
    awsError,
    healthyAws,
    keyArnIn,
    mockDrs,
    mockKms,
    region,
    roleArnIn,
    serviceLinkedRole,
    sourceAccount,
    staging,
    target,
} from "./verifyWorld";

export const origin = sourceAccount;
export const originKeyArn = keyArnIn(origin, region, "5678efgh-12ab-34cd-56ef-1234567890ab");

/** A key policy like the staging keys': it names the origin's DRS service-linked role. */
export const originKeyPolicy = (): PolicyDocument =>
    buildKeyPolicy({
        stagingAccountId: origin,
        targetAccountId: target,
        region,
        stagingRoleArn: roleArnIn(origin),
        targetAccess: "documented",
    });

/** The network role's trust as the trusted-accounts page documents it, for `trusted`. */
export const networkTrust = (trusted: string): PolicyDocument => ({
    Version: "2012-10-17",
    Statement: [
        {
            Sid: "Documented",
            Effect: "Allow",
            Principal: { Service: "drs.amazonaws.com" },
            Action: "sts:AssumeRole",
            Condition: { StringLike: { "aws:SourceAccount": trusted, "aws:SourceArn": "arn:aws:drs:*:*:source-network/*" } },
        },
    ],
});

export const failbackSettings = (failback: Record<string, unknown>) =>
    parseConfig({
        target: { accountId: target },
        stagingAccounts: [{ accountId: staging, region, failback }],
    }).settings;

/** healthyAws, with the origin's DRS, KMS and IAM (every role there exists), and the target's roles for the origin. */
export function failbackAws() {
    const world = healthyAws(undefined, { sourceAccounts: [origin] });
    const clients = { drs: new DrsClient({ region }), kms: new KMSClient({ region }) };
    const originDrs = mockDrs(clients.drs);
    originDrs.on(DescribeReplicationConfigurationTemplatesCommand).resolves({
        items: [
            { replicationConfigurationTemplateID: "rct-0aaaaaaaaaaaaaaa0", ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: originKeyArn },
        ],
    });
    const originKms = mockKms(clients.kms);
    originKms
        .on(DescribeKeyCommand)
        .resolves({ KeyMetadata: { KeyId: originKeyArn, KeyState: "Enabled", KeyManager: "CUSTOMER" } })
        .on(GetKeyPolicyCommand)
        .resolves({ Policy: JSON.stringify(originKeyPolicy()) });
    const originIam = world.mocks.iam.get(origin)!;
    const withNetworkRole = (mock: typeof originIam, account: string, trusted: string) =>
        mock
            .on(GetRoleCommand, { RoleName: drsSourceNetworkRoleName })
            .resolves({
                Role: {
                    RoleName: drsSourceNetworkRoleName,
                    Arn: `arn:aws:iam::${account}:role/${drsSourceNetworkRoleName}`,
                    AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(networkTrust(trusted))),
                } as never,
            })
            .on(ListAttachedRolePoliciesCommand, { RoleName: drsSourceNetworkRoleName })
            .resolves({ AttachedPolicies: [{ PolicyName: "AWSElasticDisasterRecoveryNetworkReplicationPolicy" }] })
            .on(ListRolePoliciesCommand, { RoleName: drsSourceNetworkRoleName })
            .resolves({ PolicyNames: [] });
    withNetworkRole(originIam, origin, target);
    originIam.on(GetRoleCommand, { RoleName: serviceLinkedRole }).resolves({ Role: { RoleName: serviceLinkedRole } as never });
    const targetIam = world.mocks.iam.get(target)!;
    targetIam.on(GetRoleCommand).callsFake(async ({ RoleName }: { RoleName: string }) => ({
        Role: { RoleName, Arn: `arn:aws:iam::${target}:role/service-role/${RoleName}`, Path: "/service-role/" },
    }));
    withNetworkRole(targetIam, target, origin);
    targetIam.on(ListEntitiesForPolicyCommand).resolves({ PolicyUsers: [{ UserName: "failback-client" }], IsTruncated: false });
    const drs = world.access.drs;
    const kms = world.access.kms;
    world.access.drs = async (account, r) => (account === origin ? clients.drs : drs(account, r));
    world.access.kms = async (account, r) => (account === origin ? clients.kms : kms(account, r));
    return { ...world, origin: { drs: originDrs, kms: originKms, iam: originIam }, targetIam };
}

export const noSuchRole = awsError("NoSuchEntityException", "The role cannot be found");
