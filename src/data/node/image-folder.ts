import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { AdvkitError, invalidArgument } from '../../errors.js';
import type { ImageDataset } from '../dataset.js';
import { readImageFile, type ReadImageOptions } from './image-file.js';
import { LABEL_MAP_NAMES, readLabelMap, type LabelMap } from './label-map.js';

export interface ImageFolderOptions extends ReadImageOptions {
  /**
   * A label map file (see label-map.ts for the formats), absolute or relative to the folder. Without it, a map named
   * labels.csv/.tsv/.json/.txt, classes.txt or imagenet_class_index.json in the folder is used, else one subfolder per
   * class.
   */
  labelMap?: string;
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif']);

/** Image files under dir, as sorted forward-slash paths relative to dir. */
async function listImages(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && IMAGE_EXTENSIONS.has(path.extname(e.name).toLowerCase()))
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

function findLabelMap(dir: string, given: string | undefined): string | undefined {
  if (given === undefined) return LABEL_MAP_NAMES.map((n) => path.join(dir, n)).find((f) => existsSync(f));
  if (path.isAbsolute(given) || existsSync(given)) return path.resolve(given);
  return path.join(dir, given);
}

/** The class of one image under a class list: its top subfolder, or a trailing _<index> in its name. */
function classOf(file: string, map: Extract<LabelMap, { kind: 'classes' }>, dir: string): number {
  const parts = file.split('/');
  if (parts.length > 1) {
    const byFolder = map.aliases.get(parts[0]);
    if (byFolder !== undefined) return byFolder;
  }
  const suffix = /_(\d+)$/.exec(path.parse(file).name);
  if (suffix !== null) {
    const index = Number(suffix[1]);
    if (index < map.classNames.length) return index;
  }
  throw new AdvkitError(
    'INVALID_ARGUMENT',
    `Cannot tell the class of ${path.join(dir, file)}: expected it in a subfolder named after a class (name, id or index ` +
      `0..${map.classNames.length - 1}) or a file name ending in _<class index>.`,
    { file },
  );
}

/** (file, label) pairs and class names for the folder. */
async function labelledFiles(
  dir: string,
  mapFile: string | undefined,
): Promise<{ files: [string, number][]; classNames: string[] }> {
  const images = await listImages(dir);
  if (mapFile !== undefined) {
    const map = await readLabelMap(mapFile);
    if (map.kind === 'files') {
      const files = [...map.labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const missing = files.filter(([f]) => !existsSync(path.join(dir, f))).map(([f]) => f);
      if (missing.length > 0) {
        throw new AdvkitError(
          'NOT_FOUND',
          `${mapFile} lists files missing from ${dir}: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}.`,
          {
            file: mapFile,
          },
        );
      }
      return { files, classNames: map.classNames };
    }
    return { files: images.map((f) => [f, classOf(f, map, dir)]), classNames: map.classNames };
  }
  const loose = images.filter((f) => !f.includes('/'));
  if (loose.length > 0 || images.length === 0) {
    throw invalidArgument(
      `${dir} is not an image folder advkit can label: expected one subfolder of images per class, or a label map ` +
        `(${LABEL_MAP_NAMES.join(', ')}, or the labelMap option)` +
        (loose.length > 0
          ? `; found images outside class subfolders, e.g. ${loose[0]}.`
          : '; found no images.'),
    );
  }
  const classNames = [...new Set(images.map((f) => f.split('/')[0]))].sort();
  const index = new Map(classNames.map((n, i) => [n, i]));
  return { files: images.map((f) => [f, index.get(f.split('/')[0]) ?? 0]), classNames };
}

/** Channels and size every image will be decoded to, read from the file headers when not given. */
async function commonShape(
  dir: string,
  files: string[],
  opts: ImageFolderOptions,
): Promise<{ channels: 1 | 3; size: [number, number] }> {
  if (opts.channels !== undefined && opts.size !== undefined)
    return { channels: opts.channels, size: opts.size };
  let colour = false;
  let size = opts.size;
  for (const file of files) {
    const full = path.join(dir, file);
    const meta = await sharp(full)
      .metadata()
      .catch((err: unknown) => {
        const reason = err instanceof Error ? err.message : String(err);
        throw new AdvkitError('CORRUPT_DATA', `Cannot read image ${full}: ${reason}.`, { file: full });
      });
    colour ||= (meta.channels ?? 3) - (meta.hasAlpha ? 1 : 0) > 1;
    const own: [number, number] = [meta.height ?? 0, meta.width ?? 0];
    if (size === undefined) {
      size = own;
    } else if (opts.size === undefined && (own[0] !== size[0] || own[1] !== size[1])) {
      throw invalidArgument(
        `Images in ${dir} differ in size (${files[0]} is ${size[0]}x${size[1]}, ${file} is ${own[0]}x${own[1]}); pass a size to resize them to.`,
      );
    }
  }
  return { channels: opts.channels ?? (colour ? 3 : 1), size: size ?? [0, 0] };
}

/**
 * A labelled dataset from a folder of images: one subfolder per class, or files plus a label map. All images are
 * decoded to one size and channel count (given, or the images' own when they agree).
 */
export async function loadImageFolder(dir: string, opts: ImageFolderOptions = {}): Promise<ImageDataset> {
  const root = path.resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new AdvkitError('NOT_FOUND', `Image folder ${root} does not exist or is not a directory.`, {
      file: root,
    });
  }
  const { files, classNames } = await labelledFiles(root, findLabelMap(root, opts.labelMap));
  const names = files.map(([f]) => f);
  const { channels, size } = await commonShape(root, names, opts);
  const [height, width] = size;
  const imageSize = height * width * channels;
  const pixels = new Uint8Array(files.length * imageSize);
  const labels = new Int32Array(files.length);
  for (let i = 0; i < files.length; i++) {
    const image = await readImageFile(path.join(root, files[i][0]), { size, channels, fit: opts.fit });
    pixels.set(image.pixels, i * imageSize);
    labels[i] = files[i][1];
  }
  return {
    name: path.basename(root),
    split: 'all',
    height,
    width,
    channels,
    count: files.length,
    pixels,
    labels,
    classNames,
  };
}
