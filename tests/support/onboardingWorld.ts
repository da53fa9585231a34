// One staging account and one target account, mocked as AWS would keep them from one command to
// the next: DRS initialised or not per account and Region (and the service-linked role with it),
// the staging servers' own replication settings, the servers extended into the target and their
// own launch configurations. tests/ops/onboarding.spec.ts runs the documented sequence against it.
import {
    CreateExtendedSourceServerCommand,
    DescribeRecoverySnapshotsCommand,
    DescribeReplicationConfigurationTemplatesCommand,
    DescribeSourceServersCommand,
    DrsClient,
    GetLaunchConfigurationCommand,
    GetReplicationConfigurationCommand,
    InitializeServiceCommand,
    LaunchConfiguration,
    ListExtensibleSourceServersCommand,
    SourceServer,
    UpdateLaunchConfigurationCommand,
    UpdateReplicationConfigurationCommand,
} from "@aws-sdk/client-drs";
import { DescribeSnapshotsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { GetRoleCommand, IAMClient, ListAttachedRolePoliciesCommand } from "@aws-sdk/client-iam";
import { DescribeKeyCommand, GetKeyPolicyCommand, KMSClient } from "@aws-sdk/client-kms";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { AwsStub, mockClient } from "aws-sdk-client-mock";
import { DrillAccess } from "../../ops/aws/access";

export const staging = "444455556666";
export const target = "111122223333";
export const region = "us-east-1";
export const keyUserRole = "DrsRecoveryOperator";
const serviceLinkedRole = "AWSServiceRoleForElasticDisasterRecovery";

const awsError = (name: string, message: string, status = 400) =>
    Object.assign(new Error(message), { name, $fault: "client", $metadata: { httpStatusCode: status } });

export interface StagingServer {
    id: string;
    hostname: string;
    ebsEncryption: "DEFAULT" | "CUSTOM" | "NONE";
    ebsEncryptionKeyArn?: string;
}

/** DRS's own launch settings for a server extended while no launch template says otherwise. */
const drsDefaults: LaunchConfiguration = {
    launchDisposition: "STARTED",
    targetInstanceTypeRightSizingMethod: "BASIC",
    copyPrivateIp: false,
    copyTags: true,
    licensing: { osByol: false },
    postLaunchEnabled: false,
};

/**
 * The two accounts. DRS starts uninitialised everywhere; `launchTemplate` is what new extended
 * servers take (the target stack's launch settings once it is deployed).
 */
export function onboardingWorld(servers: StagingServer[] = []) {
    const initialised = new Set<string>();
    const serviceLinkedRoles = new Set<string>();
    const replication = new Map(servers.map((s) => [s.id, { ebsEncryption: s.ebsEncryption, ebsEncryptionKeyArn: s.ebsEncryptionKeyArn }]));
    const extended = new Map<string, SourceServer>();
    const launch = new Map<string, LaunchConfiguration>();
    const world = {
        /** The launch settings new extended servers take: the launch template's, once deployed. */
        launchTemplate: {} as LaunchConfiguration,
        /** Every write any command sent, in order: `account/Region Command`. */
        writes: [] as string[],
        initialised,
        serviceLinkedRoles,
        replication,
        extended,
        launch,
        /** A server whose agent is installed now: it replicates with the settings given (the template's, for a new one). */
        install(server: StagingServer) {
            servers.push(server);
            replication.set(server.id, { ebsEncryption: server.ebsEncryption, ebsEncryptionKeyArn: server.ebsEncryptionKeyArn });
        },
    };
    const stagingArn = (id: string) => `arn:aws:drs:${region}:${staging}:source-server/${id}`;
    const uninitialised = () => awsError("UninitializedAccountException", "Account not initialized", 400);
    const drsOf = (account: string) => {
        const client = new DrsClient({ region });
        const mock = mockClient(client);
        const place = `${account}/${region}`;
        const guard = () => {
            if (!initialised.has(place)) throw uninitialised();
        };
        mock.on(DescribeReplicationConfigurationTemplatesCommand).callsFake(async () => {
            guard();
            return { items: [] };
        });
        mock.on(InitializeServiceCommand).callsFake(async () => {
            world.writes.push(`${place} InitializeService`);
            initialised.add(place);
            serviceLinkedRoles.add(account);
            return {};
        });
        return { client, mock, guard, place };
    };

    const stagingDrs = drsOf(staging);
    const stagingServer = (s: StagingServer): SourceServer => ({
        sourceServerID: s.id,
        arn: stagingArn(s.id),
        sourceProperties: { identificationHints: { hostname: s.hostname } },
        dataReplicationInfo: { dataReplicationState: "CONTINUOUS" },
        stagingArea: { status: "NOT_EXTENDED" },
    });
    stagingDrs.mock.on(DescribeSourceServersCommand).callsFake(async (input: { filters?: { sourceServerIDs?: string[] } }) => {
        stagingDrs.guard();
        const ids = input.filters?.sourceServerIDs;
        return { items: servers.filter((s) => !ids || ids.includes(s.id)).map(stagingServer) };
    });
    stagingDrs.mock.on(GetReplicationConfigurationCommand).callsFake(async (input: { sourceServerID: string }) => {
        stagingDrs.guard();
        return { sourceServerID: input.sourceServerID, ...replication.get(input.sourceServerID) };
    });
    stagingDrs.mock.on(UpdateReplicationConfigurationCommand).callsFake(async (input: any) => {
        stagingDrs.guard();
        world.writes.push(`${stagingDrs.place} UpdateReplicationConfiguration ${input.sourceServerID}`);
        replication.set(input.sourceServerID, { ebsEncryption: input.ebsEncryption, ebsEncryptionKeyArn: input.ebsEncryptionKeyArn });
        return { sourceServerID: input.sourceServerID, ...replication.get(input.sourceServerID) };
    });
    stagingDrs.mock.on(DescribeRecoverySnapshotsCommand).callsFake(async (input: { sourceServerID: string }) => ({
        items: [
            {
                snapshotID: `pit-${input.sourceServerID}`,
                timestamp: "2026-12-06T10:00:00Z",
                ebsSnapshots: [`snap-${input.sourceServerID}`],
            },
        ],
    }));

    const targetDrs = drsOf(target);
    const extendedIn = (input: { filters?: { stagingAccountIDs?: string[]; sourceServerIDs?: string[] } }) =>
        [...extended.values()].filter(
            (s) =>
                (!input.filters?.stagingAccountIDs || input.filters.stagingAccountIDs.includes(s.stagingArea?.stagingAccountID ?? "")) &&
                (!input.filters?.sourceServerIDs || input.filters.sourceServerIDs.includes(s.sourceServerID ?? "")),
        );
    targetDrs.mock.on(DescribeSourceServersCommand).callsFake(async (input) => {
        targetDrs.guard();
        return { items: extendedIn(input) };
    });
    targetDrs.mock.on(ListExtensibleSourceServersCommand).callsFake(async (input: { stagingAccountID: string }) => {
        targetDrs.guard();
        if (input.stagingAccountID !== staging) return { items: [] };
        return { items: servers.map((s) => ({ arn: stagingArn(s.id), hostname: s.hostname, tags: {} })) };
    });
    targetDrs.mock
        .on(CreateExtendedSourceServerCommand)
        .callsFake(async (input: { sourceServerArn: string; tags?: Record<string, string> }) => {
            targetDrs.guard();
            const stagingId = /source-server\/(s-\w+)$/.exec(input.sourceServerArn)?.[1] ?? "";
            world.writes.push(`${targetDrs.place} CreateExtendedSourceServer ${stagingId}`);
            if (replication.get(stagingId)?.ebsEncryption === "DEFAULT")
                throw awsError(
                    "ValidationException",
                    `Source server ${stagingId} cannot be extended if it has the default EBS encryption key`,
                );
            if ([...extended.values()].some((s) => s.stagingArea?.stagingSourceServerArn === input.sourceServerArn))
                throw awsError("ConflictException", `Source server ${stagingId} is already extended`, 409);
            const id = `s-e${stagingId.slice(3)}`;
            const server: SourceServer = {
                sourceServerID: id,
                arn: `arn:aws:drs:${region}:${target}:source-server/${id}`,
                sourceProperties: { identificationHints: { hostname: servers.find((s) => s.id === stagingId)?.hostname } },
                dataReplicationInfo: { dataReplicationState: "CONTINUOUS" },
                stagingArea: { status: "EXTENDED", stagingAccountID: staging, stagingSourceServerArn: input.sourceServerArn },
                tags: input.tags,
            };
            extended.set(id, server);
            launch.set(id, { ...drsDefaults, ...world.launchTemplate, ec2LaunchTemplateID: `lt-${id.slice(2)}` });
            return { sourceServer: server };
        });
    targetDrs.mock.on(GetLaunchConfigurationCommand).callsFake(async (input: { sourceServerID: string }) => {
        targetDrs.guard();
        const found = launch.get(input.sourceServerID);
        if (!found) throw awsError("ResourceNotFoundException", `Source server ${input.sourceServerID} not found`, 404);
        return { sourceServerID: input.sourceServerID, ...found };
    });
    targetDrs.mock.on(UpdateLaunchConfigurationCommand).callsFake(async (input: any) => {
        targetDrs.guard();
        world.writes.push(`${targetDrs.place} UpdateLaunchConfiguration ${input.sourceServerID}`);
        const { sourceServerID, ...changes } = input;
        launch.set(sourceServerID, { ...launch.get(sourceServerID), ...changes });
        return { sourceServerID, ...launch.get(sourceServerID) };
    });

    const kms = new KMSClient({ region });
    mockClient(kms)
        .on(DescribeKeyCommand)
        .callsFake(async (input: { KeyId: string }) => ({ KeyMetadata: { Arn: input.KeyId, KeyState: "Enabled" } }))
        .on(GetKeyPolicyCommand)
        .resolves({ Policy: JSON.stringify({ Version: "2012-10-17", Statement: [] }) });
    const ec2 = new EC2Client({ region });
    mockClient(ec2)
        .on(DescribeSnapshotsCommand)
        .callsFake(async (input: { SnapshotIds: string[] }) => ({
            Snapshots: input.SnapshotIds.map((id) => {
                const kmsKey = replication.get(id.replace(/^snap-/, ""))?.ebsEncryptionKeyArn;
                return { SnapshotId: id, Encrypted: kmsKey !== undefined, KmsKeyId: kmsKey };
            }),
        }));
    const iamOf = (account: string) => {
        const client = new IAMClient({ region });
        const mock = mockClient(client);
        mock.on(GetRoleCommand).callsFake(async (input: { RoleName: string }) => {
            if (input.RoleName === serviceLinkedRole && serviceLinkedRoles.has(account))
                return {
                    Role: {
                        RoleName: serviceLinkedRole,
                        Arn: `arn:aws:iam::${account}:role/aws-service-role/drs.amazonaws.com/${serviceLinkedRole}`,
                    },
                };
            if (account === target && input.RoleName === keyUserRole)
                return {
                    Role: { RoleName: keyUserRole, Arn: `arn:aws:iam::${target}:role/${keyUserRole}`, RoleId: "AROAOPERATOREXAMPLE01" },
                };
            throw awsError("NoSuchEntityException", `The role with name ${input.RoleName} cannot be found.`, 404);
        });
        mock.on(ListAttachedRolePoliciesCommand).resolves({
            AttachedPolicies: [
                {
                    PolicyName: "AWSElasticDisasterRecoveryConsoleFullAccess_v2",
                    PolicyArn: "arn:aws:iam::aws:policy/AWSElasticDisasterRecoveryConsoleFullAccess_v2",
                },
                { PolicyName: "DrsCrossAccountKmsKeyUse", PolicyArn: `arn:aws:iam::${target}:policy/DrsCrossAccountKmsKeyUse` },
            ],
            IsTruncated: false,
        });
        return client;
    };
    const sts = new STSClient({ region });
    mockClient(sts)
        .on(GetCallerIdentityCommand)
        .resolves({ Account: target, Arn: `arn:aws:sts::${target}:assumed-role/${keyUserRole}/drs-cross-account-kms-drill` });
    const iam = new Map([staging, target].map((account) => [account, iamOf(account)]));
    const drs = new Map([
        [staging, stagingDrs.client],
        [target, targetDrs.client],
    ]);
    const pick = <T>(map: Map<string, T>, account: string): T => {
        const found = map.get(account);
        if (!found) throw new Error(`test: no client for ${account}`);
        return found;
    };
    const access: DrillAccess = {
        kms: async () => kms,
        drs: async (account) => pick(drs, account),
        drsWriter: async (account) => pick(drs, account),
        ec2: async () => ec2,
        iam: async (account) => pick(iam, account),
        cloudTrail: async () => {
            throw new Error("test: a drill plan reads no CloudTrail");
        },
        // The drill's identity: the key-user role, assumed; its DRS is the target's.
        identity: async () => ({ drs: targetDrs.client, drsWriter: targetDrs.client, sts }),
    };
    const mocks: { staging: AwsStub<any, any, any>; target: AwsStub<any, any, any> } = { staging: stagingDrs.mock, target: targetDrs.mock };
    return { world, access, mocks };
}
