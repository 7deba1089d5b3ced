/**
 * Where the built-in datasets come from and the published digests of the files (torchvision, TFDS and the
 * dataset pages list the same values).
 */
import type { RemoteFile } from './download.js';

export const MNIST_BASE_URL = 'https://ossci-datasets.s3.amazonaws.com/mnist/';
export const FASHION_MNIST_BASE_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';

export type MnistVariant = 'mnist' | 'fashion-mnist';
export type MnistFileKey = 'train-images' | 'train-labels' | 't10k-images' | 't10k-labels';

/** The four IDX files as published (gzipped), keyed by the common part of their names. */
export const MNIST_FILES: Record<MnistVariant, Record<MnistFileKey, { md5: string; sha256: string }>> = {
  mnist: {
    'train-images': {
      md5: 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
      sha256: '440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609',
    },
    'train-labels': {
      md5: 'd53e105ee54ea40749a09fcbcd1e9432',
      sha256: '3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c',
    },
    't10k-images': {
      md5: '9fb629c4189551a2d022fa330f9573f3',
      sha256: '8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6',
    },
    't10k-labels': {
      md5: 'ec29112dd5afa0611ce80d1b7f02629c',
      sha256: 'f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6',
    },
  },
  'fashion-mnist': {
    'train-images': {
      md5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
      sha256: '3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84',
    },
    'train-labels': {
      md5: '25c81989df183df01b3e8a0aad5dffbe',
      sha256: 'a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845',
    },
    't10k-images': {
      md5: 'bef4ecab320f06d8554ea6380940ec79',
      sha256: '346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073',
    },
    't10k-labels': {
      md5: 'bb300cfdad3c16e7a12a480ee83cd310',
      sha256: '67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5',
    },
  },
};

/** The file name as published: 'train-images' -> 'train-images-idx3-ubyte'. */
export function mnistFileName(key: MnistFileKey): string {
  return `${key}-${key.endsWith('images') ? 'idx3' : 'idx1'}-ubyte`;
}

export function mnistRemote(variant: MnistVariant, key: MnistFileKey): RemoteFile {
  const base = variant === 'mnist' ? MNIST_BASE_URL : FASHION_MNIST_BASE_URL;
  return { url: `${base}${mnistFileName(key)}.gz`, ...MNIST_FILES[variant][key] };
}

/** The binary version of CIFAR-10, from the dataset page https://www.cs.toronto.edu/~kriz/cifar.html. */
export const CIFAR10_ARCHIVE: RemoteFile = {
  url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
  md5: 'c32a1d4ab5d03f1284b67883e8d87530',
  sha256: 'c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd',
};

/** The folder inside the archive. */
export const CIFAR10_ARCHIVE_DIR = 'cifar-10-batches-bin';

/** sha256 of the uncompressed batch files in the archive (published in torchvision-ruby's integrity table). */
export const CIFAR10_BATCH_SHA256: Record<string, string> = {
  'data_batch_1.bin': 'cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5',
  'data_batch_2.bin': 'a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed',
  'data_batch_3.bin': 'bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67',
  'data_batch_4.bin': '014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48',
  'data_batch_5.bin': '755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add',
  'test_batch.bin': '8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b',
};
