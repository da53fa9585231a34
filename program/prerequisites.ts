import * as aws from "@pulumi/aws";
import { drsServiceLinkedRoleName } from "../components/policies";

/**
 * Why DRS is not ready in an account, or undefined when it is. The key policy names DRS's
 * service-linked role, which exists only once DRS has been initialised in the account; KMS refuses
 * a policy naming a missing principal, after minutes of retries and with an error that does not
 * say why (docs/aws-requirements.md, The staging account's DRS service-linked role). One role per
 * account: this proves the account, not each Region.
 */
export async function drsNotInitialised(accountId: string, regions: string[], provider: aws.Provider): Promise<string | undefined> {
    try {
        await aws.iam.getRole({ name: drsServiceLinkedRoleName }, { provider });
        return undefined;
    } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const where = regions.join(", ");
        if (/NoSuchEntity|couldn't find resource|not found/i.test(message)) {
            return (
                `DRS is not initialised in staging account ${accountId}: its service-linked role ${drsServiceLinkedRoleName} does not exist, ` +
                `and KMS refuses a key policy that names it. Initialise DRS in ${accountId} (DRS console, or ` +
                `\`aws drs initialize-service --region <region>\`) in ${where}, then run \`pulumi preview\` again.`
            );
        }
        return `Could not check that DRS is initialised in staging account ${accountId} (iam:GetRole ${drsServiceLinkedRoleName}): ${message}`;
    }
}
