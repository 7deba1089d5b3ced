import { promises as fs } from 'node:fs';

/** Write a file and fsync it, so that a rename that follows publishes complete bytes even after a crash. */
export async function writeFileSynced(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
