#!/usr/bin/env node
// The package's bin (drs-cross-account-kms <command>): the CLI in TypeScript (cli/), loaded with
// sucrase, so it runs from a checkout after `npm ci` without a build step.
/* eslint-disable @typescript-eslint/no-require-imports */
require("sucrase/register/ts");
require("./index.ts").main();
