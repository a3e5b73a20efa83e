package io.statekeeper.storage;

import java.util.Arrays;
import java.nio.charset.StandardCharsets;

/**
 * The kinds of damage a version file can suffer, each applied to a file's bytes.
 */
public enum Damage {

	TRUNCATED {
		@Override
		public byte[] apply(byte[] file) {
			return Arrays.copyOf(file, file.length - 3);
		}
	},
	HEADER_BYTE_FLIPPED {
		@Override
		public byte[] apply(byte[] file) {
			// the revision digit: parses fine, caught only by the header CRC
			String text = new String(file, StandardCharsets.UTF_8);
			int at = text.indexOf("\"revision\":") + "\"revision\":".length();
			file[at] ^= 0x01;
			return file;
		}
	},
	BODY_BYTE_FLIPPED {
		@Override
		public byte[] apply(byte[] file) {
			file[file.length - 5] ^= 0x20;
			return file;
		}
	},
	TRAILING_BYTES {
		@Override
		public byte[] apply(byte[] file) {
			byte[] longer = Arrays.copyOf(file, file.length + 2);
			longer[file.length] = '\n';
			longer[file.length + 1] = ' ';
			return longer;
		}
	},
	EMPTY {
		@Override
		public byte[] apply(byte[] file) {
			return new byte[0];
		}
	},
	NO_NEWLINE {
		@Override
		public byte[] apply(byte[] file) {
			byte[] garbage = new byte[8192];
			Arrays.fill(garbage, (byte) 'x');
			return garbage;
		}
	};

	public abstract byte[] apply(byte[] file);

}
