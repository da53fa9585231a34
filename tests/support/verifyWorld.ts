// Every account verify reads, mocked as a healthy deployment (healthyAws): tests/verify.spec.ts and
// the golden files (tests/golden.spec.ts) run against it.
import {
    DescribeReplicationConfigurationTemplatesCommand,
    DescribeRecoverySnapshotsCommand,
    DescribeSourceServersCommand,
    DrsClient,
    GetReplicationConfigurationCommand,
    SourceServer,
} from "@aws-sdk/client-drs";
import { EC2Client, GetEbsDefaultKmsKeyIdCommand, GetEbsEncryptionByDefaultCommand } from "@aws-sdk/client-ec2";
import { GetRoleCommand, IAMClient, ListAttachedRolePoliciesCommand } from "@aws-sdk/client-iam";
import {
    DecryptCommand,
    DescribeKeyCommand,
    GetKeyPolicyCommand,
    GetKeyRotationStatusCommand,
    KMSClient,
    KeyMetadata,
} from "@aws-sdk/client-kms";
import { mockClient } from "aws-sdk-client-mock";
import { parseConfig } from "../../config";
import { buildKeyPolicy, buildStagingRoleTrustPolicy } from "../../components/policies";
import { AwsAccess } from "../../ops/aws/access";
import { CheckResult } from "../../ops/verify";

export const staging = "444455556666";
export const target = "111122223333";
export const region = "us-east-1";
export const keyId = "1234abcd-12ab-34cd-56ef-1234567890ab";
/** A multi-Region key: the primary and its replicas share this ID. */
export const mrkId = "mrk-1234abcd12ab34cd56ef1234567890ab";
export const keyArnIn = (account: string, r: string, id = keyId) => `arn:aws:kms:${r}:${account}:key/${id}`;
export const roleArnIn = (account: string) => `arn:aws:iam::${account}:role/service-role/DRSStagingAccountRole_${target}`;
export const keyArn = keyArnIn(staging, region);
export const roleArn = roleArnIn(staging);
export const roleId = "AROAEXAMPLEROLEID1234";
export const templateId = "rct-0123456789abcdef0";
export const serviceLinkedRole = "AWSServiceRoleForElasticDisasterRecovery";
/** An account whose EC2 instances replicate into the staging account (ec2SourceAccounts). */
export const sourceAccount = "555566667777";

export type Place = readonly [account: string, region: string];
export type Part = "primary" | "replica";

/** With multi-Region keys, each account's first place holds the primary, its other places replicas. */
export const partOf = (places: Place[], [account, r]: Place): Part =>
    places.find(([a]) => a === account)?.[1] === r ? "primary" : "replica";

/** What a staging stack exports for its key in one account and Region. */
export const keyExport = ([account, r]: Place, multiRegionKey?: Part, id = multiRegionKey ? mrkId : keyId) => ({
    accountId: account,
    region: r,
    keyId: id,
    keyArn: keyArnIn(account, r, id),
    aliasName: "alias/drs-cross-account-ebs",
    stagingRoleArn: roleArnIn(account),
    replicationTemplateId: templateId,
    ...(multiRegionKey ? { multiRegionKey } : {}),
});
export const outputsFor = (places: Place[], { multiRegion = false } = {}) => ({
    targetAccountId: target,
    targetAccess: "ebs-shared-snapshots",
    stagingKeys: places.map((p) => keyExport(p, multiRegion ? partOf(places, p) : undefined)),
});

/** DescribeKey's answer for a part of a multi-Region key whose replicas are all in place. */
export const multiRegionMetadata = (places: Place[], [account, r]: Place, changes: { KeyState?: string } = {}) => {
    const [primaryRegion, ...replicaRegions] = places.filter(([a]) => a === account).map(([, x]) => x);
    return {
        KeyId: mrkId,
        KeyState: changes.KeyState ?? "Enabled",
        MultiRegion: true,
        MultiRegionConfiguration: {
            MultiRegionKeyType: r === primaryRegion ? "PRIMARY" : "REPLICA",
            PrimaryKey: { Arn: keyArnIn(account, primaryRegion, mrkId), Region: primaryRegion },
            ReplicaKeys: replicaRegions.map((x) => ({ Arn: keyArnIn(account, x, mrkId), Region: x })),
        },
    } as KeyMetadata;
};
export const outputs = outputsFor([[staging, region]]);
export const settingsFor = (places: Place[], regions?: string[]) =>
    parseConfig({
        target: { accountId: target, ...(regions ? { regions } : {}) },
        stagingAccounts: places.map(([accountId, r]) => ({ accountId, region: r })),
    }).settings;
export const settings = settingsFor([[staging, region]]);

/** The key policy the program deploys for the key in this account and Region. */
export const deployedKeyPolicy = (account = staging, r = region) =>
    buildKeyPolicy({
        stagingAccountId: account,
        targetAccountId: target,
        region: r,
        stagingRoleArn: roleArnIn(account),
        stagingRoleUniqueId: roleId,
        targetAccess: "ebs-shared-snapshots",
    });

/** GetRole's answer for the staging role, healthy unless told otherwise. */
export const stagingRole = (changes: { RoleId?: string; trust?: object } = {}, account = staging) => ({
    Role: {
        RoleName: `DRSStagingAccountRole_${target}`,
        Path: "/service-role/",
        RoleId: changes.RoleId ?? roleId,
        Arn: roleArnIn(account),
        CreateDate: new Date(),
        AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(changes.trust ?? buildStagingRoleTrustPolicy("aws", target))),
    },
});

export const awsError = (name: string, message = name) => Object.assign(new Error(message), { name });

export const day = 24 * 60 * 60_000;
export const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
/** A server's last launch in the target (lifeCycle.lastLaunch), `daysAgo` days ago. */
export const lastLaunch = (type: "DRILL" | "RECOVERY", status: string, daysAgo: number) => ({
    initiated: { type, apiCallDateTime: new Date(Date.now() - daysAgo * day).toISOString(), jobID: "drsjob-0123456789abcdef0" },
    status,
});

/** A source server as DescribeSourceServers returns it: replicating continuously, drilled 10 days ago, unless told otherwise. */
export const sourceServer = (
    id: string,
    changes: {
        hostname?: string;
        state?: string;
        stagingArea?: string;
        errorMessage?: string;
        lastLaunch?: ReturnType<typeof lastLaunch> | null;
        /** dataReplicationInfo.lagDuration (ISO 8601) and the disks' backlog. */
        lag?: string;
        backlogBytes?: number;
        /** In a staging account: the server's ARN; in a target: the staging server it extends. */
        arn?: string;
        stagingSourceServerArn?: string;
    } = {},
): SourceServer =>
    ({
        sourceServerID: id,
        ...(changes.arn ? { arn: changes.arn } : {}),
        sourceProperties: changes.hostname ? { identificationHints: { hostname: changes.hostname } } : {},
        dataReplicationInfo: {
            dataReplicationState: changes.state ?? "CONTINUOUS",
            lagDuration: changes.lag ?? "PT0S",
            replicatedDisks: [{ deviceName: "/dev/xvda", backloggedStorageBytes: changes.backlogBytes ?? 0 }],
        },
        stagingArea: {
            status: changes.stagingArea ?? "NOT_EXTENDED",
            errorMessage: changes.errorMessage,
            ...(changes.stagingSourceServerArn ? { stagingSourceServerArn: changes.stagingSourceServerArn } : {}),
        },
        lifeCycle: changes.lastLaunch === null ? {} : { lastLaunch: changes.lastLaunch ?? lastLaunch("DRILL", "TERMINATED", 10) },
    }) as SourceServer;

/** A staging server's ARN, as DRS gives it and the target's extended server names it. */
export const stagingServerArn = (account: string, r: string, id: string) => `arn:aws:drs:${r}:${account}:source-server/${id}`;

export const servers = (count: number, prefix = "s-") =>
    Array.from({ length: count }, (_, i) => sourceServer(`${prefix}${String(i + 1).padStart(3, "0")}`, { hostname: `host-${i + 1}` }));

/** The first page of servers extended from a staging place: 100, the first two extending its s-1 and s-2. */
const extendedFrom = (account: string, r: string) =>
    servers(100, `${account}-a`).map((s, i) =>
        i < 2 ? { ...s, stagingArea: { ...s.stagingArea, stagingSourceServerArn: stagingServerArn(account, r, `s-${i + 1}`) } } : s,
    );

export const mockKms = (client: KMSClient) => mockClient(client);
export const mockDrs = (client: DrsClient) => mockClient(client);
export const mockIam = (client: IAMClient) => mockClient(client);
export const mockEc2 = (client: EC2Client) => mockClient(client);

/**
 * Mocked clients per account (and Region for KMS and DRS), set up as a healthy deployment with a
 * key in each staging place: two source servers on the key there, and 142 servers (two pages)
 * extended from each staging account into the target, the first two of them those two. With multiRegion, the keys are the parts
 * of one multi-Region key per account (partOf), every replica in place.
 */
export function healthyAws(
    places: Place[] = [[staging, region]],
    options: { multiRegion?: boolean; id?: string; sourceAccounts?: string[] } = {},
) {
    const multiRegion = options.multiRegion ?? false;
    const id = options.id ?? (multiRegion ? mrkId : keyId);
    const clients = {
        kms: new Map<string, KMSClient>(),
        drs: new Map<string, DrsClient>(),
        iam: new Map<string, IAMClient>(),
        ec2: new Map<string, EC2Client>(),
    };
    const kms = new Map<string, ReturnType<typeof mockKms>>();
    const drs = new Map<string, ReturnType<typeof mockDrs>>();
    const iam = new Map<string, ReturnType<typeof mockIam>>();
    const ec2 = new Map<string, ReturnType<typeof mockEc2>>();
    const kmsFor = (account: string, r: string) => {
        const client = new KMSClient({ region: r });
        clients.kms.set(`${account}/${r}`, client);
        const mock = mockKms(client);
        kms.set(`${account}/${r}`, mock);
        return mock;
    };
    const drsFor = (account: string, r: string) => {
        const client = new DrsClient({ region: r });
        clients.drs.set(`${account}/${r}`, client);
        const mock = mockDrs(client);
        drs.set(`${account}/${r}`, mock);
        return mock;
    };
    for (const [account, r] of places) {
        const arn = keyArnIn(account, r, id);
        kmsFor(account, r)
            .on(DescribeKeyCommand)
            .resolves({ KeyMetadata: multiRegion ? multiRegionMetadata(places, [account, r]) : { KeyId: id, KeyState: "Enabled" } })
            .on(GetKeyRotationStatusCommand)
            .resolves({ KeyRotationEnabled: true })
            .on(GetKeyPolicyCommand)
            .resolves({ Policy: JSON.stringify(deployedKeyPolicy(account, r)) });
        drsFor(account, r)
            .on(DescribeReplicationConfigurationTemplatesCommand)
            .resolves({
                items: [{ replicationConfigurationTemplateID: templateId, ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: arn }],
            })
            .on(DescribeSourceServersCommand)
            .resolves({
                items: [
                    sourceServer("s-1", { hostname: "web-1", arn: stagingServerArn(account, r, "s-1") }),
                    sourceServer("s-2", { hostname: "db-1", arn: stagingServerArn(account, r, "s-2") }),
                ],
            })
            .on(GetReplicationConfigurationCommand)
            .resolves({ ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: arn })
            // The template's point in time every 10 minutes: the latest, 4 minutes ago.
            .on(DescribeRecoverySnapshotsCommand)
            .callsFake(async ({ sourceServerID }: { sourceServerID: string }) => ({
                items: [
                    { snapshotID: `pit-${sourceServerID}`, sourceServerID, expectedTimestamp: minutesAgo(4), timestamp: minutesAgo(4) },
                ],
            }));
        if (!iam.has(account)) {
            const client = new IAMClient({ region });
            clients.iam.set(account, client);
            const mock = mockIam(client);
            mock.on(GetRoleCommand)
                .resolves(stagingRole({}, account))
                .on(GetRoleCommand, { RoleName: serviceLinkedRole })
                .resolves({ Role: { RoleName: serviceLinkedRole, Path: "/aws-service-role/drs.amazonaws.com/" } as never });
            iam.set(account, mock);
        }
    }
    for (const account of options.sourceAccounts ?? []) {
        // EC2 source accounts: DRS's failback and in-AWS right-sizing roles exist.
        const client = new IAMClient({ region });
        clients.iam.set(account, client);
        const mock = mockIam(client);
        mock.on(GetRoleCommand).callsFake(async ({ RoleName }: { RoleName: string }) => ({
            Role: { RoleName, Arn: `arn:aws:iam::${account}:role/service-role/${RoleName}`, Path: "/service-role/" },
        }));
        iam.set(account, mock);
    }
    {
        // The target's key-user roles hold the key-use policy and one more.
        const client = new IAMClient({ region });
        clients.iam.set(target, client);
        const mock = mockIam(client);
        mock.on(ListAttachedRolePoliciesCommand).resolves({
            AttachedPolicies: [
                { PolicyName: "DrsCrossAccountKmsKeyUse" },
                { PolicyName: "AWSElasticDisasterRecoveryConsoleFullAccess_v2" },
            ],
        });
        iam.set(target, mock);
    }
    for (const r of new Set(places.map(([, r]) => r))) {
        kmsFor(target, r)
            .on(DescribeKeyCommand)
            .resolves({ KeyMetadata: { KeyId: id, KeyState: "Enabled" } })
            .on(DecryptCommand)
            .rejects(
                awsError("AccessDeniedException", `User: arn:aws:sts::${target}:assumed-role/R is not authorized to perform: kms:Decrypt`),
            );
        // The target encrypts EBS by default with a key of its own.
        const ec2Client = new EC2Client({ region: r });
        clients.ec2.set(`${target}/${r}`, ec2Client);
        ec2.set(
            `${target}/${r}`,
            mockEc2(ec2Client)
                .on(GetEbsEncryptionByDefaultCommand)
                .resolves({ EbsEncryptionByDefault: true })
                .on(GetEbsDefaultKmsKeyIdCommand)
                .resolves({ KmsKeyId: keyArnIn(target, r, "9999aaaa-12ab-34cd-56ef-1234567890ab") }),
        );
        const mock = drsFor(target, r).on(DescribeReplicationConfigurationTemplatesCommand).resolves({ items: [] });
        for (const account of new Set(places.filter(([, x]) => x === r).map(([a]) => a))) {
            mock.on(DescribeSourceServersCommand, { filters: { stagingAccountIDs: [account] }, nextToken: undefined })
                .resolves({ items: extendedFrom(account, r), nextToken: "page-2" })
                .on(DescribeSourceServersCommand, { filters: { stagingAccountIDs: [account] }, nextToken: "page-2" })
                .resolves({ items: servers(42, `${account}-b`) });
        }
    }
    const get = <T>(map: Map<string, T>, key: string): T => {
        const value = map.get(key);
        if (!value) throw new Error(`test: no client for ${key}`);
        return value;
    };
    const access: AwsAccess = {
        kms: async (account, r) => get(clients.kms, `${account}/${r}`),
        drs: async (account, r) => get(clients.drs, `${account}/${r}`),
        drsWriter: async () => {
            throw new Error("verify never writes");
        },
        ec2: async (account, r) => get(clients.ec2, `${account}/${r}`),
        iam: async (account) => get(clients.iam, account),
    };
    const mocks = {
        stagingKms: get(kms, `${staging}/${region}`),
        stagingIam: get(iam, staging),
        stagingDrs: get(drs, `${staging}/${region}`),
        targetKms: get(kms, `${target}/${region}`),
        targetDrs: get(drs, `${target}/${region}`),
        targetEc2: get(ec2, `${target}/${region}`),
        /** Every mock by account/Region (IAM by account). */
        kms,
        drs,
        iam,
        ec2,
    };
    return { access, mocks };
}

export const byCheck = (results: CheckResult[]) => Object.fromEntries(results.map((r) => [r.check, r]));
