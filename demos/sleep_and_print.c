/*
 * sleep_and_print: counts 0 to 9, half a second between numbers, twice in
 * a row. Blocking sleeps: the second count waits for the first, ~10 s.
 */
#include <stdio.h>
#include <time.h>

static void sleep_and_print(void)
{
	for (int i = 0; i < 10; i++) {
		printf("%d\n", i);
		fflush(stdout);
		struct timespec half = {0, 500 * 1000 * 1000};
		nanosleep(&half, NULL);
	}
}

int main(void)
{
	sleep_and_print();
	sleep_and_print();
	return 0;
}
