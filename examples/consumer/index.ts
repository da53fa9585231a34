// A Pulumi program of another team's: one staging account, their own provider and naming.
import * as aws from "@pulumi/aws";
import { DrsCrossAccountKey, DrsStagingRole } from "drs-cross-account-kms";

export function defineStaging() {
    const provider = new aws.Provider("dr-staging", { region: "eu-west-1", allowedAccountIds: ["444455556666"] });
    const role = new DrsStagingRole("dr-role", { targetAccountId: "111122223333" }, { provider });
    const key = new DrsCrossAccountKey(
        "dr-key",
        {
            stagingAccountId: "444455556666",
            targetAccountId: "111122223333",
            region: "eu-west-1",
            stagingRoleArn: role.roleArn,
            stagingRoleUniqueId: role.roleUniqueId,
            alias: "alias/dr-ebs",
            targetAccess: "documented",
        },
        { provider },
    );
    return { keyArn: key.keyArn, aliasName: key.aliasName, roleArn: role.roleArn };
}
