import 'reflect-metadata';
import path from 'node:path';
import { createSchema } from '../src/schema';

/** Writes schema.graphql from the resolvers. */
createSchema(path.resolve(__dirname, '..', 'schema.graphql'))
  .then(() => console.log('schema.graphql written'))
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
