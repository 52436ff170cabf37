import socket, sys, time, binascii
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.bind(("vb", 0))
s.settimeout(0.5)
end = time.time() + float(sys.argv[1])
seen = {}
out = open(sys.argv[2], "a")
while time.time() < end:
    try:
        f = s.recv(2048)
    except socket.timeout:
        continue
    et = int.from_bytes(f[12:14], "big")
    if et == 0x0800:
        ip = f[14:]
        ihl = (ip[0] & 15) * 4
        tot = int.from_bytes(ip[2:4], "big")
        if ip[9] != 112: continue
        src = socket.inet_ntop(socket.AF_INET, ip[12:16]); dst = socket.inet_ntop(socket.AF_INET, ip[16:20])
        ttl = ip[8]
        payload = ip[ihl:tot]
    elif et == 0x86dd:
        ip = f[14:]
        if ip[6] != 112: continue
        plen = int.from_bytes(ip[4:6], "big")
        src = socket.inet_ntop(socket.AF_INET6, ip[8:24]); dst = socket.inet_ntop(socket.AF_INET6, ip[24:40])
        ttl = ip[7]
        payload = ip[40:40+plen]
    else:
        continue
    key = (src, dst, payload)
    if key in seen: continue
    seen[key] = 1
    line = "%s %s %d %s" % (src, dst, ttl, binascii.hexlify(payload).decode())
    print(line); out.write(line + "\n"); out.flush()
