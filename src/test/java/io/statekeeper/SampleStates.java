package io.statekeeper;

import java.nio.charset.StandardCharsets;

/**
 * States shaped like a real CLI's: a {@code resources} object of one entry per tracked
 * resource (type, remote id, applied hash, a few attributes), the way the benchmarks and
 * the memory checks need them. the benchmark harness ({@code bench/run}) uses them too.
 */
public final class SampleStates {

	private SampleStates() {
	}

	/**
	 * A valid state of {@code size} bytes (exactly, from about 300 bytes up).
	 * @param size the length in bytes
	 * @param generation written into {@code metadata}, so that bodies differ
	 * @return the UTF-8 body
	 */
	public static byte[] of(int size, long generation) {
		String head = "{\"version\":\"1.0.0\",\"metadata\":{\"tool\":\"hypernative\",\"generation\":" + generation
				+ "},\"resources\":{";
		StringBuilder json = new StringBuilder(size + 256).append(head);
		int i = 0;
		while (true) {
			String resource = ((i > 0) ? "," : "") + "\"res-" + i + "\":{\"type\":\"aws_instance\",\"remoteId\":\"i-"
					+ String.format("%012x", i) + "\",\"hash\":\"" + String.format("%064x", i * 2654435761L)
					+ "\",\"attributes\":{\"name\":\"web-" + i + "\",\"size\":\"m5.large\",\"tags\":[\"a\",\"b\"]}}";
			if (json.length() + resource.length() + 12 > size) {
				break;
			}
			json.append(resource);
			i++;
		}
		json.append("},\"pad\":\"");
		while (json.length() < size - 2) {
			json.append('x');
		}
		return json.append("\"}").toString().getBytes(StandardCharsets.US_ASCII);
	}

}
