// The Pulumi program: `pulumi up` in this folder (after `pulumi stack init dev`) runs it with the
// accounts in Pulumi.dev.yaml.
import * as pulumi from "@pulumi/pulumi";
import { defineStaging } from "./staging";

const config = new pulumi.Config();
const staging = defineStaging({
    stagingAccountId: config.require("stagingAccountId"),
    targetAccountId: config.require("targetAccountId"),
    region: config.require("region"),
});

export const keyArn = staging.keyArn;
export const aliasName = staging.aliasName;
export const stagingRoleArn = staging.roleArn;
