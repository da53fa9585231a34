// DRS source servers as the verify and align-servers commands read them: every page, bounded
// (throttled calls are retried by the SDK), and each server's own replication configuration (the
// template is only the default for servers added later: docs/aws-requirements.md, "Per-server
// replication settings").
import {
    DescribeSourceServersCommand,
    DescribeSourceServersRequestFilters,
    DrsClient,
    GetReplicationConfigurationCommand,
    SourceServer,
} from "@aws-sdk/client-drs";
import { allPages } from "./faults";

/**
 * The data replication states DRS documents as normal: continuous replication, the initial
 * sync in progress, and a rescan. Every other state (stalled, disconnected, paused, ...) needs
 * attention before the server can be recovered from a recent point in time.
 */
export const healthyReplicationStates: readonly string[] = ["CONTINUOUS", "INITIAL_SYNC", "RESCAN"];

/** Every source server DescribeSourceServers returns for the filters, over all pages (bounded). */
export function listSourceServers(drs: DrsClient, filters: DescribeSourceServersRequestFilters = {}): Promise<SourceServer[]> {
    return allPages("drs:DescribeSourceServers", (nextToken) => drs.send(new DescribeSourceServersCommand({ filters, nextToken })));
}

/**
 * The servers that replicate into this account's own staging area: in a staging account, every
 * server except those extended into it from another account, whether the extension worked
 * (EXTENDED) or not (EXTENSION_ERROR): either way the server replicates in the other account.
 */
export function replicatingHere(servers: SourceServer[]): SourceServer[] {
    return servers.filter((s) => s.stagingArea?.status !== "EXTENDED" && s.stagingArea?.status !== "EXTENSION_ERROR");
}

/** A source server's identity and EBS encryption, from its own replication configuration. */
export interface ServerEncryption {
    sourceServerID: string;
    hostname?: string;
    /** CUSTOM, DEFAULT (the AWS managed aws/ebs key) or NONE, as DRS reports it. */
    ebsEncryption?: string;
    ebsEncryptionKeyArn?: string;
}

/** A source server's ID from its ARN (arn:aws:drs:<region>:<account>:source-server/s-...). */
export const serverIdOfArn = (arn: string | undefined): string | undefined => /source-server\/(s-[0-9a-zA-Z]+)$/.exec(arn ?? "")?.[1];

export function hostnameOf(server: SourceServer): string | undefined {
    const hints = server.sourceProperties?.identificationHints;
    return hints?.hostname ?? hints?.fqdn;
}

/** Reads one server's replication configuration (GetReplicationConfiguration). */
export async function readServerEncryption(drs: DrsClient, server: SourceServer): Promise<ServerEncryption> {
    const sourceServerID = server.sourceServerID ?? "";
    const config = await drs.send(new GetReplicationConfigurationCommand({ sourceServerID }));
    return {
        sourceServerID,
        hostname: hostnameOf(server),
        ebsEncryption: config.ebsEncryption,
        ebsEncryptionKeyArn: config.ebsEncryptionKeyArn,
    };
}

/** A server is on the key only with CUSTOM encryption and exactly the key's ARN. */
export function isOnKey(server: Pick<ServerEncryption, "ebsEncryption" | "ebsEncryptionKeyArn">, keyArn: string): boolean {
    return server.ebsEncryption === "CUSTOM" && server.ebsEncryptionKeyArn === keyArn;
}

/** "CUSTOM arn:...", "DEFAULT (aws/ebs)", "NONE": a server's current encryption in words. */
export function describeEncryption(server: Pick<ServerEncryption, "ebsEncryption" | "ebsEncryptionKeyArn">): string {
    if (server.ebsEncryption === "DEFAULT") return "DEFAULT (the AWS managed key aws/ebs)";
    if (server.ebsEncryption === "CUSTOM") return `CUSTOM ${server.ebsEncryptionKeyArn ?? "(no key ARN)"}`;
    return server.ebsEncryption ?? "unknown";
}

/** At most `shown` items, then "and N more": summaries stay readable at 300 servers. */
export function firstFew(items: string[], shown = 5): string {
    if (items.length <= shown) return items.join(", ");
    return `${items.slice(0, shown).join(", ")} and ${items.length - shown} more`;
}

/** A server as messages name it: its ID, and its hostname where DRS knows one. */
export const serverName = (s: { sourceServerID: string; hostname?: string }) =>
    `${s.sourceServerID}${s.hostname ? ` (${s.hostname})` : ""}`;
