// How the plan and the moves call AWS: an access error becomes an AccessStop naming the permission,
// so a run stops at it rather than fail server after server the same way; and the read both make,
// whether a server's newest point in time is on the key.
import { DescribeRecoverySnapshotsCommand, DrsClient } from "@aws-sdk/client-drs";
import { DescribeSnapshotsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { parseKeyArn } from "../../components/policies";
import { failure, isAccessDenied, permissionIn, UnreachableAccount } from "../aws/faults";

/** An access error: the run stops at it rather than fail server after server the same way. */
export class AccessStop extends Error {
    constructor(readonly stop: { accountId: string; action: string; permission: string; message: string }) {
        super(stop.message);
    }
}

const credentialErrors = /^(ExpiredToken(Exception)?|UnrecognizedClientException|InvalidClientTokenId)$/;

/** Calls `body`; turns an access error (or an account with no credentials) into an AccessStop naming the permission. */
export async function calling<T>(accountId: string, action: string, body: () => Promise<T>): Promise<T> {
    try {
        return await body();
    } catch (err) {
        if (err instanceof UnreachableAccount) {
            throw new AccessStop({
                accountId,
                action,
                permission: action,
                message: `${err.message}. Set roleArn for this account in the stack config, or run with its credentials.`,
            });
        }
        if (!isAccessDenied(err) && !credentialErrors.test((err as Error).name ?? "")) throw err;
        const named = permissionIn(err);
        const permission = named ?? action;
        throw new AccessStop({
            accountId,
            action,
            permission,
            message: named
                ? `the credentials for ${accountId} lack ${permission} (${failure(err)})`
                : `the credentials for ${accountId} were refused calling ${action} (${failure(err)})`,
        });
    }
}

/**
 * Whether a server's newest point in time is on the key: DRS's newest recovery snapshot, and each
 * EBS snapshot in it encrypted with the key. Until then a moved server has nothing the target can
 * recover from on the new key.
 */
export async function pointInTimeOnKey(
    drs: DrsClient,
    ec2: EC2Client,
    account: string,
    sourceServerID: string,
    keyArn: string,
): Promise<{ onKey: boolean; what: string }> {
    const { items } = await drs.send(new DescribeRecoverySnapshotsCommand({ sourceServerID, order: "DESC", maxResults: 1 }));
    const newest = items?.[0];
    if (!newest) return { onKey: false, what: "no point in time yet" };
    const ids = newest.ebsSnapshots ?? [];
    if (ids.length === 0) return { onKey: false, what: `its newest point in time (${newest.timestamp ?? "?"}) lists no EBS snapshot` };
    const snapshots = (await calling(account, "ec2:DescribeSnapshots", () => ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: ids }))))
        .Snapshots;
    const keyId = parseKeyArn(keyArn)?.keyId;
    const off = (snapshots ?? []).filter((s) => s.KmsKeyId !== keyArn && parseKeyArn(s.KmsKeyId ?? "")?.keyId !== keyId);
    if ((snapshots ?? []).length === ids.length && off.length === 0)
        return { onKey: true, what: `point in time ${newest.timestamp ?? "?"} is on the key` };
    return { onKey: false, what: `its newest point in time (${newest.timestamp ?? "?"}) is not on the key yet` };
}
