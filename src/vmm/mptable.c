/*
 * mptable.c - the Intel MultiProcessor Specification 1.4 table. Without ACPI
 * this is how Linux learns the CPUs, the IOAPIC and how ISA IRQs reach it.
 * The floating pointer sits in the last KiB of base memory, where Linux scans;
 * the configuration table just below it, in memory the e820 map reserves.
 */
#include <errno.h>
#include <string.h>

#include "layout.h"
#include "mptable.h"
#include "vm.h"

struct __attribute__((packed)) mpf {
	char sig[4];
	uint32_t physptr;
	uint8_t length, specrev, checksum;
	uint8_t feature[5];
};

struct __attribute__((packed)) mpc_header {
	char sig[4];
	uint16_t length;
	uint8_t spec, checksum;
	char oem[8], product[12];
	uint32_t oemptr;
	uint16_t oemsize, count;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum, reserved;
};

struct __attribute__((packed)) mpc_cpu {
	uint8_t type, apicid, apicver, cpuflag;
	uint32_t signature, featureflag, reserved[2];
};

struct __attribute__((packed)) mpc_bus {
	uint8_t type, busid;
	char bustype[6];
};

struct __attribute__((packed)) mpc_ioapic {
	uint8_t type, apicid, apicver, flags;
	uint32_t apicaddr;
};

struct __attribute__((packed)) mpc_intsrc {
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbus, srcbusirq, dstapic, dstirq;
};

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };
/* irqflag: polarity active high (01) in bits 0-1, level trigger (11) in bits 2-3 */
#define MP_IRQ_LEVEL_HIGH 0x0d

static uint8_t checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

int mptable_write(struct vm *vm)
{
	size_t len = sizeof(struct mpc_header) + vm->ncpus * sizeof(struct mpc_cpu) +
		     sizeof(struct mpc_bus) + sizeof(struct mpc_ioapic) +
		     IRQ_PINS * sizeof(struct mpc_intsrc) + 2 * sizeof(struct mpc_intsrc);
	uint8_t *base = gm_ptr(&vm->mem, BOOT_MPTABLE, len);
	struct mpf *mpf = gm_ptr(&vm->mem, BOOT_MPF, sizeof(*mpf));
	uint8_t ioapic_id = (uint8_t)vm->ncpus;

	if (!base || !mpf || BOOT_MPTABLE + len > BOOT_MPF)
		return -ENOSPC;
	memset(base, 0, len);

	struct mpc_header *h = (void *)base;
	uint8_t *p = base + sizeof(*h);
	memcpy(h->sig, "PCMP", 4);
	h->spec = 4;
	memcpy(h->oem, "LXS     ", 8);
	memcpy(h->product, "LXS-VM      ", 12);
	h->lapic = (uint32_t)LAYOUT_LAPIC;

	for (int i = 0; i < vm->ncpus; i++, p += sizeof(struct mpc_cpu)) {
		struct mpc_cpu *c = (void *)p;

		*c = (struct mpc_cpu){.type = MP_PROCESSOR,
				      .apicid = (uint8_t)i,
				      .apicver = 0x14,
				      .cpuflag = 1 | (i == 0 ? 2 : 0),
				      .signature = 0x600,
				      .featureflag = 0x201};
	}
	struct mpc_bus *bus = (void *)p;
	*bus = (struct mpc_bus){.type = MP_BUS, .busid = 0};
	memcpy(bus->bustype, "ISA   ", 6);
	p += sizeof(*bus);

	struct mpc_ioapic *io = (void *)p;
	*io = (struct mpc_ioapic){.type = MP_IOAPIC,
				  .apicid = ioapic_id,
				  .apicver = 0x11,
				  .flags = 1,
				  .apicaddr = (uint32_t)LAYOUT_IOAPIC};
	p += sizeof(*io);

	/*
	 * ISA IRQ n on IOAPIC pin n, the routing KVM's default GSI table uses;
	 * edge-triggered as ISA is, except the serial port's, which lxs-vm
	 * drives as a level (serial.c says why).
	 */
	for (int pin = 0; pin < IRQ_PINS; pin++, p += sizeof(struct mpc_intsrc))
		*(struct mpc_intsrc *)p =
		    (struct mpc_intsrc){.type = MP_INTSRC,
					.irqtype = MP_INT,
					.irqflag = pin == IRQ_SERIAL ? MP_IRQ_LEVEL_HIGH : 0,
					.srcbusirq = (uint8_t)pin,
					.dstapic = ioapic_id,
					.dstirq = (uint8_t)pin};
	/* LINT0 is the PIC's ExtINT, LINT1 NMI, on every LAPIC. */
	*(struct mpc_intsrc *)p = (struct mpc_intsrc){
	    .type = MP_LINTSRC, .irqtype = MP_EXTINT, .dstapic = 0xff, .dstirq = 0};
	p += sizeof(struct mpc_intsrc);
	*(struct mpc_intsrc *)p = (struct mpc_intsrc){
	    .type = MP_LINTSRC, .irqtype = MP_NMI, .dstapic = 0xff, .dstirq = 1};
	p += sizeof(struct mpc_intsrc);

	h->length = (uint16_t)(p - base);
	h->count = (uint16_t)(vm->ncpus + 1 + 1 + IRQ_PINS + 2);
	h->checksum = checksum(base, h->length);

	memset(mpf, 0, sizeof(*mpf));
	memcpy(mpf->sig, "_MP_", 4);
	mpf->physptr = (uint32_t)BOOT_MPTABLE;
	mpf->length = 1;
	mpf->specrev = 4;
	mpf->checksum = checksum(mpf, sizeof(*mpf));
	return 0;
}
