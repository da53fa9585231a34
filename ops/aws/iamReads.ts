// IAM reads the live commands share, every page bounded.
import { AttachedPolicy, IAMClient, ListAttachedRolePoliciesCommand } from "@aws-sdk/client-iam";
import { allPages } from "./faults";

/** Every managed policy attached to a role, over IAM's Marker pages. */
export function attachedRolePolicies(iam: IAMClient, roleName: string): Promise<AttachedPolicy[]> {
    return allPages("iam:ListAttachedRolePolicies", async (marker) => {
        const page = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName, Marker: marker }));
        return { items: page?.AttachedPolicies, nextToken: page?.IsTruncated ? page.Marker : undefined };
    });
}
