#!/usr/bin/env node
// The seed's name for the download side: the same program, answering `get` and `validate`.
import { main } from '../dist/src/cli/main.js';

await main(process.argv, 'rspm-offline-downloader');
