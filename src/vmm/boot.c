/*
 * boot.c - loading a Linux kernel (bzImage or PVH vmlinux) and initrd into
 * guest memory and preparing the vCPUs to enter it.
 */
#include "boot.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "layout.h"
#include "mptable.h"
#include "vm.h"
#include "common/le.h"

/* Offsets into struct boot_params (Documentation/arch/x86/zero-page.rst). */
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_E820_ENTRIES      0x1e8
#define BP_SETUP_SECTS       0x1f1
#define BP_SYSSIZE           0x1f4
#define BP_VID_MODE          0x1fa
#define BP_HEADER            0x202
#define BP_VERSION           0x206
#define BP_TYPE_OF_LOADER    0x210
#define BP_LOADFLAGS         0x211
#define BP_RAMDISK_IMAGE     0x218
#define BP_RAMDISK_SIZE      0x21c
#define BP_HEAP_END_PTR      0x224
#define BP_CMD_LINE_PTR      0x228
#define BP_INITRD_ADDR_MAX   0x22c
#define BP_RELOCATABLE       0x234
#define BP_XLOADFLAGS        0x236
#define BP_CMDLINE_SIZE      0x238
#define BP_PREF_ADDRESS      0x258
#define BP_INIT_SIZE         0x260
#define BP_E820_TABLE        0x2d0
#define BP_E820_MAX          128

#define LOADED_HIGH   0x01
#define CAN_USE_HEAP  0x80
#define XLF_KERNEL_64 0x01

#define E820_RAM      1
#define E820_RESERVED 2

/* PVH (xen/include/public/arch-x86/hvm/start_info.h) */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PVH_MAGIC                0x336ec578

struct __attribute__((packed)) e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

/* Read exactly len bytes at off; -EIO on a short file. */
static int pread_full(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* The guest's memory map; the same for both boot paths. */
static int e820_build(const struct vm *vm, struct e820_entry *e, int max)
{
	int n = 0;

	if (max < 4)
		return -ENOSPC;
	e[n++] = (struct e820_entry){0, BOOT_RESERVED_LOW, E820_RAM};
	e[n++] = (struct e820_entry){BOOT_RESERVED_LOW, 0xa0000 - BOOT_RESERVED_LOW, E820_RESERVED};
	e[n++] = (struct e820_entry){BOOT_HIGH_MEM, vm->mem.low_size - BOOT_HIGH_MEM, E820_RAM};
	if (vm->mem.high_size)
		e[n++] = (struct e820_entry){GM_HIGH_BASE, vm->mem.high_size, E820_RAM};
	return n;
}

/* Place the initrd as high as allowed below max_end, above min_start. */
static int load_initrd(struct vm *vm, const char *path, uint64_t min_start, uint64_t max_end,
		       uint64_t *gpa, uint64_t *size)
{
	struct stat st;
	int ret = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		log_warn("cannot open initrd %s", path);
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_warnx("initrd %s is not a regular file", path);
		ret = -EINVAL;
		goto out;
	}
	if (max_end > vm->mem.low_size)
		max_end = vm->mem.low_size;
	uint64_t len = (uint64_t)st.st_size;
	if (len == 0 || len > max_end || ((max_end - len) & ~0xfffULL) < min_start) {
		log_warnx(
		    "initrd %s (%llu bytes) does not fit in guest memory; give the VM more --mem",
		    path, (unsigned long long)len);
		ret = -ENOSPC;
		goto out;
	}
	*gpa = (max_end - len) & ~0xfffULL;
	*size = len;
	void *dst = gm_ptr(&vm->mem, *gpa, len);
	if (!dst) {
		ret = -ENOSPC;
		goto out;
	}
	ret = pread_full(fd, dst, len, 0);
	if (ret < 0)
		log_warnx("cannot read initrd %s: %s", path, strerror(-ret));
out:
	close(fd);
	return ret;
}

static int write_cmdline(struct vm *vm, uint64_t max_len)
{
	size_t len = strlen(vm->cmdline);
	char *dst = gm_ptr(&vm->mem, BOOT_CMDLINE, len + 1);

	if (len > max_len) {
		log_warnx("the kernel command line is %zu bytes; this kernel takes at most %llu",
			  len, (unsigned long long)max_len);
		return -E2BIG;
	}
	if (!dst)
		return -ENOSPC;
	memcpy(dst, vm->cmdline, len + 1);
	return 0;
}

static int load_bzimage(struct vm *vm, int fd, uint64_t fsize, const char *path, const char *initrd,
			struct boot_info *bi)
{
	uint8_t hdr[1024];
	uint8_t *zp = gm_ptr(&vm->mem, BOOT_ZERO_PAGE, 4096);
	int ret;

	if (!zp || fsize < sizeof(hdr) || pread_full(fd, hdr, sizeof(hdr), 0) < 0)
		return -EIO;
	uint16_t version = le_get16(hdr + BP_VERSION);
	if (version < 0x020c || !(le_get16(hdr + BP_XLOADFLAGS) & XLF_KERNEL_64)) {
		log_warnx("%s is a bzImage without a 64-bit entry point (boot protocol %u.%u); "
			  "use a 64-bit Linux kernel",
			  path, version >> 8, version & 0xff);
		return -ENOEXEC;
	}
	unsigned setup_sects = hdr[BP_SETUP_SECTS] ? hdr[BP_SETUP_SECTS] : 4;
	uint64_t setup_len = (setup_sects + 1) * 512ULL;
	uint64_t pref = le_get64(hdr + BP_PREF_ADDRESS);
	uint64_t init_size = le_get32(hdr + BP_INIT_SIZE);
	uint64_t kernel_len = fsize - setup_len;
	uint64_t syssize = le_get32(hdr + BP_SYSSIZE) * 16ULL;
	if (setup_len >= fsize || kernel_len < syssize) {
		log_warnx("%s is truncated: its header promises %llu bytes of kernel after the "
			  "setup code, the file has %lld; copy the kernel again",
			  path, (unsigned long long)syssize, (long long)(fsize - setup_len));
		return -ENOEXEC;
	}
	if (pref < BOOT_HIGH_MEM || pref > vm->mem.low_size ||
	    init_size > vm->mem.low_size - pref || kernel_len > vm->mem.low_size - pref) {
		log_warnx("%s needs more memory than the VM has below 3 GiB (loads at %#llx, "
			  "needs %llu MiB); give it more --mem",
			  path, (unsigned long long)pref, (unsigned long long)(init_size >> 20));
		return -ENOSPC;
	}
	void *dst = gm_ptr(&vm->mem, pref, kernel_len);
	if (!dst)
		return -ENOSPC;
	ret = pread_full(fd, dst, kernel_len, (off_t)setup_len);
	if (ret < 0)
		return ret;

	/* The zero page: the setup header as the kernel ships it, then our fields. */
	unsigned hdr_end = BP_HEADER + hdr[0x201];
	if (hdr_end > sizeof(hdr))
		hdr_end = sizeof(hdr);
	memset(zp, 0, 4096);
	memcpy(zp + BP_SETUP_SECTS, hdr + BP_SETUP_SECTS, hdr_end - BP_SETUP_SECTS);
	zp[BP_TYPE_OF_LOADER] = 0xff;
	zp[BP_LOADFLAGS] |= LOADED_HIGH | CAN_USE_HEAP;
	zp[BP_VID_MODE] = zp[BP_VID_MODE + 1] = 0xff;
	*(uint16_t *)(zp + BP_HEAP_END_PTR) = 0xfe00;
	*(uint32_t *)(zp + BP_CMD_LINE_PTR) = (uint32_t)BOOT_CMDLINE;

	uint32_t cmdline_max = le_get32(hdr + BP_CMDLINE_SIZE);
	ret = write_cmdline(vm, cmdline_max ? cmdline_max : 255);
	if (ret < 0)
		return ret;

	if (initrd) {
		uint64_t gpa, size;
		uint64_t max_end = (uint64_t)le_get32(hdr + BP_INITRD_ADDR_MAX) + 1;

		ret = load_initrd(vm, initrd, pref + init_size, max_end, &gpa, &size);
		if (ret < 0)
			return ret;
		*(uint32_t *)(zp + BP_RAMDISK_IMAGE) = (uint32_t)gpa;
		*(uint32_t *)(zp + BP_RAMDISK_SIZE) = (uint32_t)size;
		*(uint32_t *)(zp + BP_EXT_RAMDISK_IMAGE) = (uint32_t)(gpa >> 32);
		*(uint32_t *)(zp + BP_EXT_RAMDISK_SIZE) = (uint32_t)(size >> 32);
	}
	struct e820_entry e820[BP_E820_MAX];
	int n = e820_build(vm, e820, BP_E820_MAX);
	if (n < 0)
		return n;
	zp[BP_E820_ENTRIES] = (uint8_t)n;
	memcpy(zp + BP_E820_TABLE, e820, n * sizeof(e820[0]));

	bi->kind = BOOT_BZIMAGE;
	bi->entry = pref + 0x200; /* startup_64 */
	bi->param_gpa = BOOT_ZERO_PAGE;
	return 0;
}

/* The 32-bit PVH entry address from the ELF notes, or 0. */
static uint64_t pvh_entry(int fd, uint64_t fsize, const Elf64_Phdr *ph)
{
	uint8_t buf[4096];

	if (ph->p_filesz > sizeof(buf) || ph->p_offset > fsize ||
	    ph->p_filesz > fsize - ph->p_offset)
		return 0;
	if (pread_full(fd, buf, ph->p_filesz, (off_t)ph->p_offset) < 0)
		return 0;
	for (uint64_t off = 0; off + 12 <= ph->p_filesz;) {
		uint32_t namesz = le_get32(buf + off), descsz = le_get32(buf + off + 4);
		uint32_t type = le_get32(buf + off + 8);
		uint64_t name = off + 12;
		uint64_t desc = name + ((namesz + 3ULL) & ~3ULL);
		uint64_t next = desc + ((descsz + 3ULL) & ~3ULL);

		if (next > ph->p_filesz)
			return 0;
		if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
		    !memcmp(buf + name, "Xen", 4))
			return descsz >= 8   ? le_get64(buf + desc)
			       : descsz >= 4 ? le_get32(buf + desc)
					     : 0;
		off = next;
	}
	return 0;
}

static int load_pvh(struct vm *vm, int fd, uint64_t fsize, const char *path, const char *initrd,
		    struct boot_info *bi)
{
	Elf64_Ehdr eh;
	uint64_t entry = 0, kernel_end = 0;
	int ret;

	if (fsize < sizeof(eh) || pread_full(fd, &eh, sizeof(eh), 0) < 0)
		return -EIO;
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64 ||
	    eh.e_phoff > fsize || eh.e_phnum * sizeof(Elf64_Phdr) > fsize - eh.e_phoff) {
		log_warnx("%s is not a 64-bit x86 ELF kernel", path);
		return -ENOEXEC;
	}
	Elf64_Phdr ph[64];
	ret = pread_full(fd, ph, eh.e_phnum * sizeof(Elf64_Phdr), (off_t)eh.e_phoff);
	if (ret < 0)
		return ret;
	for (int i = 0; i < eh.e_phnum; i++)
		if (ph[i].p_type == PT_NOTE && !entry)
			entry = pvh_entry(fd, fsize, &ph[i]);
	if (!entry) {
		log_warnx("%s has no PVH entry point (a kernel built without CONFIG_PVH); "
			  "boot its bzImage instead",
			  path);
		return -ENOEXEC;
	}
	for (int i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];

		if (p->p_type != PT_LOAD)
			continue;
		void *dst = gm_ptr(&vm->mem, p->p_paddr, p->p_memsz);
		if (!dst || p->p_filesz > p->p_memsz || p->p_offset > fsize ||
		    p->p_filesz > fsize - p->p_offset || p->p_paddr < BOOT_HIGH_MEM) {
			log_warnx("%s has a segment that does not fit in guest memory "
				  "(at %#llx, %llu bytes); give the VM more --mem",
				  path, (unsigned long long)p->p_paddr,
				  (unsigned long long)p->p_memsz);
			return -ENOSPC;
		}
		ret = pread_full(fd, dst, p->p_filesz, (off_t)p->p_offset);
		if (ret < 0)
			return ret;
		memset((uint8_t *)dst + p->p_filesz, 0, p->p_memsz - p->p_filesz);
		if (p->p_paddr + p->p_memsz > kernel_end)
			kernel_end = p->p_paddr + p->p_memsz;
	}

	/* COMMAND_LINE_SIZE on x86 is 2048 including the terminating NUL. */
	ret = write_cmdline(vm, 2047);
	if (ret < 0)
		return ret;

	struct hvm_start_info *si = gm_ptr(&vm->mem, BOOT_PVH_INFO, 4096);
	if (!si)
		return -ENOSPC;
	memset(si, 0, 4096);
	struct hvm_memmap_entry *mm = (void *)(si + 1);
	struct e820_entry e820[8];
	int n = e820_build(vm, e820, 8);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		mm[i] = (struct hvm_memmap_entry){e820[i].addr, e820[i].size, e820[i].type, 0};
	struct hvm_modlist_entry *mod = (void *)(mm + n);
	si->magic = PVH_MAGIC;
	si->version = 1;
	si->cmdline_paddr = BOOT_CMDLINE;
	si->memmap_paddr = BOOT_PVH_INFO + sizeof(*si);
	si->memmap_entries = (uint32_t)n;
	if (initrd) {
		uint64_t gpa, size;

		ret = load_initrd(vm, initrd, (kernel_end + 0xfff) & ~0xfffULL, vm->mem.low_size,
				  &gpa, &size);
		if (ret < 0)
			return ret;
		*mod = (struct hvm_modlist_entry){.paddr = gpa, .size = size};
		si->nr_modules = 1;
		si->modlist_paddr = BOOT_PVH_INFO + ((uint8_t *)mod - (uint8_t *)si);
	}
	bi->kind = BOOT_PVH;
	bi->entry = entry;
	bi->param_gpa = BOOT_PVH_INFO;
	return 0;
}

/* Open a kernel file and tell its format; one sentence on stderr if it is neither. */
static int kernel_open(const char *kernel, uint64_t *size, enum boot_kind *kind)
{
	struct stat st;
	uint8_t magic[0x206];
	int fd = open(kernel, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int err = -errno;

		log_warn("cannot open kernel %s", kernel);
		return err;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_warnx("kernel %s is not a regular file", kernel);
		close(fd);
		return -EINVAL;
	}
	*size = (uint64_t)st.st_size;
	if (*size >= sizeof(magic) && pread_full(fd, magic, sizeof(magic), 0) == 0 &&
	    !memcmp(magic + BP_HEADER, "HdrS", 4)) {
		*kind = BOOT_BZIMAGE;
		return fd;
	}
	if (*size >= SELFMAG && pread_full(fd, magic, SELFMAG, 0) == 0 &&
	    !memcmp(magic, ELFMAG, SELFMAG)) {
		*kind = BOOT_PVH;
		return fd;
	}
	log_warnx("%s is not a Linux kernel (neither a bzImage nor an ELF vmlinux)", kernel);
	close(fd);
	return -ENOEXEC;
}

int boot_probe(const char *kernel)
{
	uint64_t size;
	enum boot_kind kind;
	int fd = kernel_open(kernel, &size, &kind);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int boot_load(struct vm *vm, const char *kernel, const char *initrd, struct boot_info *bi)
{
	uint64_t size;
	enum boot_kind kind;
	int ret;

	if (vm->mem.low_size <= BOOT_HIGH_MEM) {
		log_warnx("the VM needs more than 1 MiB of memory to boot Linux");
		return -ENOSPC;
	}
	int fd = kernel_open(kernel, &size, &kind);
	if (fd < 0)
		return fd;
	if (kind == BOOT_BZIMAGE)
		ret = load_bzimage(vm, fd, size, kernel, initrd, bi);
	else
		ret = load_pvh(vm, fd, size, kernel, initrd, bi);
	if (ret == 0)
		ret = mptable_write(vm);
	close(fd);
	return ret;
}

/* ---- vCPU state --------------------------------------------------------- */

static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(flags & 0xf0ffu) << 40) |
	       ((uint64_t)(limit & 0xf0000u) << 32) | ((uint64_t)(base & 0xffffffu) << 16) |
	       (limit & 0xffffu);
}

static struct kvm_segment seg_from_gdt(uint16_t flags, uint16_t sel, uint32_t limit)
{
	int g = (flags >> 15) & 1;

	return (struct kvm_segment){
	    .base = 0,
	    .limit = g ? (limit << 12) | 0xfff : limit,
	    .selector = sel,
	    .type = flags & 0xf,
	    .present = (flags >> 7) & 1,
	    .dpl = (flags >> 5) & 3,
	    .db = (flags >> 14) & 1,
	    .s = (flags >> 4) & 1,
	    .l = (flags >> 13) & 1,
	    .g = (uint8_t)g,
	};
}

#define GDT_CODE64 0xa09b
#define GDT_CODE32 0xc09b
#define GDT_DATA   0xc093
#define GDT_TSS    0x008b

static int setup_bsp(struct vm *vm, struct vcpu *c, const struct boot_info *bi)
{
	struct kvm_sregs s;
	uint64_t *gdt = gm_ptr(&vm->mem, BOOT_GDT, 5 * 8);
	uint16_t code = bi->kind == BOOT_PVH ? GDT_CODE32 : GDT_CODE64;

	if (!gdt || ioctl(c->fd, KVM_GET_SREGS, &s) < 0)
		return -EIO;
	/* Selectors 0x10 and 0x18 are __BOOT_CS and __BOOT_DS of the boot protocol. */
	gdt[0] = gdt[1] = 0;
	gdt[2] = gdt_entry(code, 0, 0xfffff);
	gdt[3] = gdt_entry(GDT_DATA, 0, 0xfffff);
	gdt[4] = gdt_entry(GDT_TSS, 0, 0x67);
	s.gdt.base = BOOT_GDT;
	s.gdt.limit = 5 * 8 - 1;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.cs = seg_from_gdt(code, 0x10, 0xfffff);
	s.ds = s.es = s.fs = s.gs = s.ss = seg_from_gdt(GDT_DATA, 0x18, 0xfffff);
	s.tr = seg_from_gdt(GDT_TSS, 0x20, 0x67);
	s.tr.type = 11; /* busy TSS, as VM entry requires */

	if (bi->kind == BOOT_PVH) {
		/* 32-bit protected mode, paging off (PVH ABI). */
		s.cr0 = 0x11; /* PE | ET */
		s.cr4 = 0;
		s.efer = 0;
	} else {
		/* Long mode, the first 4 GiB identity-mapped with 2 MiB pages. */
		uint64_t *pml4 = gm_ptr(&vm->mem, BOOT_PML4, 4096);
		uint64_t *pdpt = gm_ptr(&vm->mem, BOOT_PDPT, 4096);
		uint64_t *pd = gm_ptr(&vm->mem, BOOT_PD, 4 * 4096);

		if (!pml4 || !pdpt || !pd)
			return -ENOSPC;
		memset(pml4, 0, 4096);
		memset(pdpt, 0, 4096);
		pml4[0] = BOOT_PDPT | 3;
		for (int i = 0; i < 4; i++)
			pdpt[i] = (BOOT_PD + i * 4096ULL) | 3;
		for (uint64_t i = 0; i < 4 * 512; i++)
			pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB */
		s.cr3 = BOOT_PML4;
		s.cr4 = 0x20;       /* PAE */
		s.cr0 = 0x80000011; /* PG | ET | PE */
		s.efer = 0x500;     /* LME | LMA */
	}
	if (ioctl(c->fd, KVM_SET_SREGS, &s) < 0)
		return -errno;

	struct kvm_regs r = {.rflags = 2, .rip = bi->entry, .rsp = BOOT_STACK};
	if (bi->kind == BOOT_PVH)
		r.rbx = bi->param_gpa;
	else
		r.rsi = bi->param_gpa;
	if (ioctl(c->fd, KVM_SET_REGS, &r) < 0)
		return -errno;
	return 0;
}

/* What firmware would leave behind: sane MSRs, FPU and LAPIC LINT pins. */
static int setup_common(struct vcpu *c)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[16];
	} msrs = {0};
	static const struct {
		uint32_t index;
		uint64_t value;
	} init[] = {
	    {0x174, 0},      /* SYSENTER_CS */
	    {0x175, 0},      /* SYSENTER_ESP */
	    {0x176, 0},      /* SYSENTER_EIP */
	    {0xc0000081, 0}, /* STAR */
	    {0xc0000082, 0}, /* LSTAR */
	    {0xc0000083, 0}, /* CSTAR */
	    {0xc0000084, 0}, /* SYSCALL_MASK */
	    {0xc0000102, 0}, /* KERNEL_GS_BASE */
	    {0x1a0, 1},      /* MISC_ENABLE: fast strings */
	    {0x2ff, 0x806},  /* MTRR default type: enabled, write-back */
	};
	unsigned n = sizeof(init) / sizeof(init[0]);

	for (unsigned i = 0; i < n; i++)
		msrs.e[i] = (struct kvm_msr_entry){.index = init[i].index, .data = init[i].value};
	msrs.hdr.nmsrs = n;
	int set = ioctl(c->fd, KVM_SET_MSRS, &msrs);
	if (set < 0)
		return -errno;
	if ((unsigned)set != n)
		log_debug("vcpu%d: KVM accepted %d of %u boot MSRs", c->id, set, n);

	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
	if (ioctl(c->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;

	struct kvm_lapic_state lapic;
	if (ioctl(c->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	uint32_t *lint0 = (uint32_t *)(lapic.regs + 0x350);
	uint32_t *lint1 = (uint32_t *)(lapic.regs + 0x360);
	*lint0 = (*lint0 & ~0x700u) | (7u << 8); /* ExtINT */
	*lint1 = (*lint1 & ~0x700u) | (4u << 8); /* NMI */
	if (ioctl(c->fd, KVM_SET_LAPIC, &lapic) < 0)
		return -errno;
	return 0;
}

int boot_setup_vcpus(struct vm *vm, const struct boot_info *bi)
{
	for (int i = 0; i < vm->ncpus; i++) {
		int ret = setup_common(&vm->vcpus[i]);

		if (ret < 0)
			return ret;
	}
	/* The other vCPUs wait for the BSP's INIT/SIPI in the in-kernel LAPIC. */
	return setup_bsp(vm, &vm->vcpus[0], bi);
}
