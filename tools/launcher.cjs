#!/usr/bin/env node
// The package's bin (drs-cross-account-kms <command>): the dev tools in TypeScript, loaded with
// sucrase (a dev dependency, as these tools are dev tooling: it works after `npm ci`).
/* eslint-disable @typescript-eslint/no-require-imports */
require("sucrase/register/ts");
require("./cli.ts").main();
