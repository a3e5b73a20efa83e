package io.statekeeper.state;

import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * States that hold a counter, for read-modify-write tests.
 */
final class Counters {

	private static final Pattern COUNTER = Pattern.compile("\"counter\":(\\d+)");

	private Counters() {
	}

	static byte[] state(long counter) {
		return ("{\"version\":\"1.0.0\",\"resources\":{},\"metadata\":{},\"counter\":" + counter + "}")
			.getBytes(StandardCharsets.UTF_8);
	}

	static long of(byte[] body) {
		Matcher matcher = COUNTER.matcher(new String(body, StandardCharsets.UTF_8));
		assertThat(matcher.find()).isTrue();
		return Long.parseLong(matcher.group(1));
	}

}
