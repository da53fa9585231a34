// The read the plan and the moves both make: whether a server's newest point in time is on the key.
import { DescribeRecoverySnapshotsCommand, DrsClient } from "@aws-sdk/client-drs";
import { DescribeSnapshotsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { parseKeyArn } from "../../components/policies";
import { calling } from "../aws/calls";

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
