// The target-side reads the plan and the apply both make: the staging account's servers DRS lists
// as extensible into the target, and the servers already extended from it. Every page, bounded.
import { DrsClient, ListExtensibleSourceServersCommand, SourceServer, StagingSourceServer } from "@aws-sdk/client-drs";
import { allPages } from "../aws/faults";
import { listSourceServers, serverIdOfArn } from "../aws/sourceServers";

/** ListExtensibleSourceServers' largest page (the API's maxResults is at most 300). */
export const extensiblePageSize = 300;

/** A staging server's ID from its ARN (arn:...:source-server/s-...), or undefined. */
export { serverIdOfArn };

/** The staging account's servers DRS lists as extensible into the target this client is in. */
export function listExtensible(drs: DrsClient, stagingAccountID: string): Promise<StagingSourceServer[]> {
    return allPages("drs:ListExtensibleSourceServers", (nextToken) =>
        drs.send(new ListExtensibleSourceServersCommand({ stagingAccountID, maxResults: extensiblePageSize, nextToken })),
    );
}

/**
 * The target's servers extended from the staging account, whatever their status (EXTENDED,
 * EXTENSION_ERROR, or NOT_EXTENDED just after creation): each names its staging server.
 */
export async function extendedFrom(drs: DrsClient, stagingAccountID: string): Promise<SourceServer[]> {
    const servers = await listSourceServers(drs, { stagingAccountIDs: [stagingAccountID] });
    return servers.filter(
        (s) =>
            (s.stagingArea?.stagingAccountID ?? stagingAccountID) === stagingAccountID &&
            serverIdOfArn(s.stagingArea?.stagingSourceServerArn),
    );
}

/** The extended servers by their staging server's ID. */
export function byStagingId(extended: SourceServer[]): Map<string, SourceServer> {
    return new Map(extended.map((s) => [serverIdOfArn(s.stagingArea?.stagingSourceServerArn)!, s]));
}
