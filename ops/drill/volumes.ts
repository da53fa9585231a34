// Which key the volumes of a drill's recovery instances use. DRS decides the recovered volumes'
// encryption from the replication settings, not the launch template's KMS key field
// (docs/aws-requirements.md, "The recovered volumes' key"), and whether a cross-account recovery
// re-encrypts into a key of the target is not documented: only the volumes say. A fleet whose
// volumes stay on the staging key depends on that key, in the account that may be the disaster.
import { DescribeRecoveryInstancesCommand, DrsClient } from "@aws-sdk/client-drs";
import { DescribeVolumesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { parseKeyArn } from "../../components/policies";
import { MalformedAnswer, Unchecked, allPages, uncheckedOf } from "../aws/faults";
import { type StagingKeyExport } from "../../program/contract";

/** A volume's key, and so a recovered server's: the worst of its volumes. */
export type VolumeKey = "target" | "staging" | "other-account" | "unencrypted";

export interface RecoveredVolume {
    volumeId: string;
    encrypted: boolean;
    kmsKeyId?: string;
    key: VolumeKey;
}

export interface RecoveredServer {
    sourceServerID: string;
    hostname?: string;
    region: string;
    recoveryInstanceID: string;
    ec2InstanceID?: string;
    volumes: RecoveredVolume[];
    /** The worst of its volumes; undefined when they could not be read (`unchecked` says why). */
    key?: VolumeKey;
    message: string;
    unchecked?: Unchecked;
}

/** From the least to the most worrying: a server is as its worst volume. */
const order: VolumeKey[] = ["target", "unencrypted", "other-account", "staging"];

function keyOf(volume: { Encrypted?: boolean; KmsKeyId?: string }, target: string, stagingKeys: StagingKeyExport[]): VolumeKey {
    if (!volume.Encrypted) return "unencrypted";
    const id = volume.KmsKeyId ?? "";
    if (stagingKeys.some((k) => k.keyArn === id || k.keyId === id || k.keyId === parseKeyArn(id)?.keyId)) return "staging";
    return parseKeyArn(id)?.accountId === target ? "target" : "other-account";
}

/** What a server's volumes mean, in words, with what to do. */
function describe(server: RecoveredServer): string {
    const on = (kind: VolumeKey) => server.volumes.filter((v) => v.key === kind);
    const keys = (volumes: RecoveredVolume[]) => [...new Set(volumes.map((v) => v.kmsKeyId ?? "?"))].join(", ");
    const n = server.volumes.length;
    const of = (part: RecoveredVolume[]) => `${part.length} of ${n} volume${n === 1 ? "" : "s"}`;
    switch (server.key) {
        case "target":
            return `every volume (${n}) is on a key of the target (${keys(server.volumes)}): the recovered instance does not depend on the staging account's key.`;
        case "staging":
            return (
                `${of(on("staging"))} on the staging key ${keys(on("staging"))}: a recovered instance like it depends on the staging account's key, ` +
                "in the account that may be the disaster, and a later stop and start needs grants on it that key.targetAccess documented does not give. " +
                "After a recovery, re-encrypt its volumes with a key of the target (snapshot, copy the snapshot with --kms-key-id, new volume), and keep the staging key until then."
            );
        case "other-account":
            return `${of(on("other-account"))} on a key of another account (${keys(on("other-account"))}): the recovered instance depends on that account's key.`;
        case "unencrypted":
            return `${of(on("unencrypted"))} unencrypted: the recovered instance needs no key, and its data is not encrypted at rest.`;
        default:
            return "";
    }
}

/**
 * Reads the recovery instances of `servers` (DescribeRecoveryInstances) and the volumes attached
 * to each one's EC2 instance (DescribeVolumes), in the target account and one Region. A server
 * whose volumes could not be read says why, and counts as not checked.
 */
export async function readRecoveredVolumes(
    clients: { drs: DrsClient; ec2: EC2Client },
    servers: { sourceServerID: string; hostname?: string; region: string; recoveryInstanceID: string }[],
    target: string,
    stagingKeys: StagingKeyExport[],
): Promise<RecoveredServer[]> {
    if (servers.length === 0) return [];
    const results = servers.map((s): RecoveredServer => ({
        ...s,
        volumes: [],
        message: "",
        unchecked: undefined,
        ec2InstanceID: undefined,
        key: undefined,
    }));
    const notChecked = (server: RecoveredServer, err: unknown, call: string) => {
        const unchecked = uncheckedOf(err, target, call);
        if (!unchecked) throw err;
        server.unchecked = unchecked;
        server.message = `Not checked: ${unchecked.why}.`;
    };
    let instances: Map<string, string | undefined>;
    try {
        const ids = servers.map((s) => s.recoveryInstanceID);
        const items = await allPages("drs:DescribeRecoveryInstances", (nextToken) =>
            clients.drs.send(new DescribeRecoveryInstancesCommand({ filters: { recoveryInstanceIDs: ids }, nextToken })),
        );
        instances = new Map(items.map((i) => [i.recoveryInstanceID ?? "", i.ec2InstanceID]));
    } catch (err) {
        for (const server of results) notChecked(server, err, "drs:DescribeRecoveryInstances");
        return results;
    }
    for (const server of results) {
        server.ec2InstanceID = instances.get(server.recoveryInstanceID);
        if (!server.ec2InstanceID) {
            notChecked(
                server,
                new MalformedAnswer("drs:DescribeRecoveryInstances", `no EC2 instance for ${server.recoveryInstanceID}`),
                "",
            );
            continue;
        }
        try {
            const volumes = await allPages("ec2:DescribeVolumes", async (token) => {
                const page = await clients.ec2.send(
                    new DescribeVolumesCommand({
                        Filters: [{ Name: "attachment.instance-id", Values: [server.ec2InstanceID!] }],
                        NextToken: token,
                    }),
                );
                return { items: page?.Volumes, nextToken: page?.NextToken };
            });
            server.volumes = volumes.map((v) => ({
                volumeId: v.VolumeId ?? "?",
                encrypted: Boolean(v.Encrypted),
                kmsKeyId: v.KmsKeyId,
                key: keyOf(v, target, stagingKeys),
            }));
        } catch (err) {
            notChecked(server, err, "ec2:DescribeVolumes");
            continue;
        }
        if (server.volumes.length === 0) {
            notChecked(server, new MalformedAnswer("ec2:DescribeVolumes", `no volume attached to ${server.ec2InstanceID}`), "");
            continue;
        }
        server.key = server.volumes.reduce<VolumeKey | undefined>(
            (worst, v) => (worst === undefined || order.indexOf(v.key) > order.indexOf(worst) ? v.key : worst),
            undefined,
        );
        server.message = describe(server);
    }
    return results;
}
