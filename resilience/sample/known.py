"""The five-site network with hand-checked answers (the one ``shared/checks/contracts.sh`` uses):
core C1 - A1 - {B1, B2}; B2 also reaches C1 over L4; B3 hangs off B1; L1 and L4 share conduit R1.

Blast radii: C1 5 nodes / 700 subscribers, A1 3 / 500, B1 2 / 500, L2 2 / 500, B3 and L5 1 / 400,
B2 1 / 200; L1, L3, L4 lose nothing alone, but cutting R1 loses all 700 (a hidden SPOF).

Example
-------
>>> KNOWN_NODES_CSV.splitlines()[1].split(",")[:2]
['C1', 'core']
"""

__all__ = ["KNOWN_NODES_CSV", "KNOWN_LINKS_CSV"]

KNOWN_NODES_CSV = """node_id,kind,operator,name,lat,lon,prefecture,municipality,subscribers,battery_hours,power_feed
C1,core,docomo,Kanazawa core,36.56,136.65,Ishikawa,Kanazawa,0,inf,F0
A1,aggregation,docomo,Wajima agg,37.39,136.90,Ishikawa,Wajima,0,24,F1
B1,base_station,docomo,Wajima 1,37.40,136.91,Ishikawa,Wajima,100,6,F1
B2,base_station,docomo,Wajima 2,37.41,136.92,Ishikawa,Wajima,200,3,F1
B3,base_station,docomo,Wajima 3,37.42,136.93,Ishikawa,Wajima,400,3,F2
"""
KNOWN_LINKS_CSV = """link_id,a,b,medium,capacity_mbps,srlg
L1,C1,A1,fiber,10000,R1
L2,A1,B1,fiber,1000,
L3,A1,B2,fiber,1000,
L4,C1,B2,microwave,300,R1
L5,B1,B3,microwave,300,
"""
