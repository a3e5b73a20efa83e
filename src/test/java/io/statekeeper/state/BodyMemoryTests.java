package io.statekeeper.state;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

class BodyMemoryTests {

	private static final int KIB = 1024;

	@Test
	void aReservationGrowsWithItsBodyAndIsGivenBackWhole() {
		BodyMemory memory = new BodyMemory(96 * KIB, Duration.ofMillis(50));
		BodyMemory.Reservation reservation = memory.open();
		reservation.cover(10 * KIB);
		reservation.cover(4 * KIB);
		assertThat(memory.reserved()).isEqualTo(10 * KIB);
		reservation.cover(30 * KIB + 1);
		assertThat(memory.reserved()).isEqualTo(31 * KIB);

		reservation.close();
		assertThat(memory.reserved()).isZero();
		reservation.close();
		assertThat(memory.reserved()).isZero();
	}

	@Test
	void aBodyThatFindsNoRoomWithinTheWaitIsRefusedAndHoldsNothing() {
		BodyMemory memory = new BodyMemory(96 * KIB, Duration.ofMillis(50));
		memory.open().cover(60 * KIB);
		BodyMemory.Reservation refused = memory.open();
		refused.cover(10 * KIB);

		assertThatExceptionOfType(StateProblemException.class).isThrownBy(() -> refused.cover(40 * KIB))
			.satisfies((ex) -> {
				assertThat(ex.getProblem()).isEqualTo(StateProblem.OVERLOADED);
				assertThat(ex.getMessage()).contains("max-body-memory", "hold 71680 of the 98304 bytes", "needs 40960");
			});
		assertThat(memory.reserved()).isEqualTo(70 * KIB);
		refused.close();
		assertThat(memory.reserved()).isEqualTo(60 * KIB);
	}

	@Test
	void oneClientHoldsAtMostItsShareAndIsRefusedAtOnceBeyondIt() {
		BodyMemory memory = new BodyMemory(100 * KIB, 50 * KIB, 0, Duration.ofSeconds(30));
		memory.open("a").cover(40 * KIB);
		BodyMemory.Reservation more = memory.open("a");
		assertThatExceptionOfType(StateProblemException.class).isThrownBy(() -> more.cover(20 * KIB))
			.satisfies((ex) -> assertThat(ex.getMessage()).contains("one client may hold", "needs 20480"));
		assertThat(memory.reservedBy("a")).isEqualTo(40 * KIB);
		assertThat(memory.reserved()).isEqualTo(40 * KIB);
		// another client still has the rest of the pool
		BodyMemory.Reservation other = memory.open("b");
		other.cover(50 * KIB);
		assertThat(memory.reserved()).isEqualTo(90 * KIB);
		other.close();
		assertThat(memory.reservedBy("b")).isZero();
	}

	@Test
	void bodiesUpToTheExemptionReserveNothing() {
		BodyMemory memory = new BodyMemory(10 * KIB, 10 * KIB, 4 * KIB, Duration.ofMillis(50));
		BodyMemory.Reservation reservation = memory.open("a");
		reservation.cover(4 * KIB);
		assertThat(memory.reserved()).isZero();
		reservation.cover(5 * KIB);
		assertThat(memory.reserved()).isEqualTo(5 * KIB);
		reservation.close();
		assertThat(memory.reserved()).isZero();
	}

	/**
	 * With 60 of 96 KiB held by {@code first}, another 60 KiB body waiting for room on
	 * its own thread.
	 */
	private record Waiting(BodyMemory memory, BodyMemory.Reservation first, Thread second,
			AtomicReference<Throwable> failure) {

		static Waiting forRoom() {
			BodyMemory memory = new BodyMemory(96 * KIB, Duration.ofSeconds(30));
			BodyMemory.Reservation first = memory.open();
			first.cover(60 * KIB);
			AtomicReference<Throwable> failure = new AtomicReference<>();
			Thread second = new Thread(() -> {
				try {
					memory.open().cover(60 * KIB);
				}
				catch (Throwable ex) {
					failure.set(ex);
				}
			});
			second.start();
			await().atMost(Duration.ofSeconds(10)).until(() -> second.getState() == Thread.State.TIMED_WAITING);
			return new Waiting(memory, first, second, failure);
		}

		/** Gives {@code first} back and checks that the waiting body got in. */
		void releaseFirst() throws InterruptedException {
			this.first.close();
			this.second.join(Duration.ofSeconds(10).toMillis());
			assertThat(this.second.isAlive()).isFalse();
			assertThat(this.failure.get()).isNull();
		}

	}

	@Test
	void aWaitingBodyGetsInOnceAnotherIsGivenBack() throws InterruptedException {
		Waiting waiting = Waiting.forRoom();
		assertThat(waiting.memory().reserved()).isEqualTo(60 * KIB);

		waiting.releaseFirst();
		assertThat(waiting.memory().reserved()).isEqualTo(60 * KIB);
	}

	@Test
	void aSmallBodyIsNotQueuedBehindALargeOneWaitingForRoom() throws Exception {
		Waiting waiting = Waiting.forRoom();

		// a fair semaphore would keep this one waiting behind the large one for 30 s
		CompletableFuture.runAsync(() -> waiting.memory().open().cover(KIB)).get(10, TimeUnit.SECONDS);
		assertThat(waiting.memory().reserved()).isEqualTo(61 * KIB);

		waiting.releaseFirst();
		assertThat(waiting.memory().reserved()).isEqualTo(61 * KIB);
	}

	@Test
	void theDefaultIsAQuarterOfTheHeapAndAtLeastOneLargestBody() {
		long heap = Runtime.getRuntime().maxMemory();
		assertThat(BodyMemory.defaultLimit(1)).isEqualTo(heap / 4);
		assertThat(BodyMemory.defaultLimit(heap)).isEqualTo(heap);
	}

}
