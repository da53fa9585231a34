// Another team's staging account: their own provider and naming, the package's components.
import * as aws from "@pulumi/aws";
import { DrsCrossAccountKey, DrsStagingRole } from "drs-cross-account-kms";

export interface StagingAccount {
    stagingAccountId: string;
    targetAccountId: string;
    region: string;
}

export function defineStaging({ stagingAccountId, targetAccountId, region }: StagingAccount) {
    const provider = new aws.Provider("dr-staging", { region: region as aws.Region, allowedAccountIds: [stagingAccountId] });
    const role = new DrsStagingRole("dr-role", { targetAccountId }, { provider });
    const key = new DrsCrossAccountKey(
        "dr-key",
        {
            stagingAccountId,
            targetAccountId,
            region,
            stagingRoleArn: role.roleArn,
            stagingRoleUniqueId: role.roleUniqueId,
            alias: "alias/dr-ebs",
        },
        { provider },
    );
    return { keyArn: key.keyArn, aliasName: key.aliasName, roleArn: role.roleArn };
}
